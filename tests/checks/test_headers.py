"""The header parsers, from literal header values."""

from __future__ import annotations

import pytest

from connectguard.checks.headers import (
    ONE_YEAR,
    cache_directives,
    effective_referrer_policy,
    is_session_cookie,
    meta_policy,
    parse_hsts,
    parse_set_cookie,
)


class TestHsts:
    def test_absent(self) -> None:
        assert parse_hsts([]) is None

    @pytest.mark.parametrize(
        ("value", "max_age"),
        [
            ("max-age=31536000", 31536000),
            ('max-age="31536000"; includeSubDomains', 31536000),
            ("MAX-AGE=63072000; Preload", 63072000),
            ("includeSubDomains; max-age=0", 0),
            ("  max-age = 31536000 ;  ", 31536000),
            ('max-age=31536000; ext="a;b"; includeSubDomains', 31536000),
            ('max-age=31536000; ext="say \\"hi\\"; bye"', 31536000),
        ],
    )
    def test_valid(self, value: str, max_age: int) -> None:
        hsts = parse_hsts([value])
        assert hsts is not None and hsts.valid, hsts
        assert hsts.max_age == max_age

    @pytest.mark.parametrize(
        ("value", "why"),
        [
            ("max-age=31536000; max-age=31536000", "repeated"),
            ("max-age=31536000; MAX-AGE=1", "repeated"),
            ("includeSubDomains", "no max-age"),
            ("max-age=abc", "not a number"),
            ("max-age=-5", "not a number"),
            ("max-age", "not a number"),
            ('max-age="3153', "malformed"),
        ],
    )
    def test_invalid(self, value: str, why: str) -> None:
        hsts = parse_hsts([value])
        assert hsts is not None and not hsts.valid
        assert why in (hsts.error or "")

    def test_only_first_line_counts(self) -> None:
        hsts = parse_hsts(["max-age=60", f"max-age={ONE_YEAR}"])
        assert hsts is not None and hsts.max_age == 60

    def test_subdomains_flag(self) -> None:
        hsts = parse_hsts(["max-age=1; includesubdomains"])
        assert hsts is not None and hsts.include_subdomains and not hsts.preload


class TestCacheControl:
    def test_across_lines_and_case(self) -> None:
        assert cache_directives(["No-Cache", "NO-STORE, max-age=0"]) == {
            "no-cache",
            "no-store",
            "max-age",
        }

    def test_quoted_commas_do_not_split(self) -> None:
        assert cache_directives(['private="a, no-store", max-age=5']) == {"private", "max-age"}

    def test_escaped_quote_does_not_swallow_the_rest(self) -> None:
        assert cache_directives(['ext="a\\"b", no-cache, no-store']) == {
            "ext",
            "no-cache",
            "no-store",
        }

    def test_pragma_style_values_are_not_directives(self) -> None:
        assert "no-store" not in cache_directives(['no-cache="set-cookie"'])


class TestReferrerPolicy:
    def test_last_recognised_token_wins(self) -> None:
        policy = effective_referrer_policy(["no-referrer, unsafe-url", "strict-origin, bogus"])
        assert policy.policy == "strict-origin" and policy.source == "header"

    def test_unsafe_last(self) -> None:
        assert effective_referrer_policy(["no-referrer", "unsafe-url"]).policy == "unsafe-url"

    def test_unknown_only(self) -> None:
        policy = effective_referrer_policy(["same-site, whatever"])
        assert policy.policy is None and policy.unknown == ("same-site", "whatever")

    def test_meta_counts_without_header(self) -> None:
        policy = effective_referrer_policy([], ["No-Referrer"])
        assert (policy.policy, policy.source) == ("no-referrer", "meta")

    def test_header_beats_meta(self) -> None:
        assert effective_referrer_policy(["unsafe-url"], ["no-referrer"]).policy == "unsafe-url"

    def test_an_unknown_only_header_is_no_policy_even_beside_a_meta(self) -> None:
        # SPEC: the meta counts when there is no header; an unknown-only header fails.
        policy = effective_referrer_policy(["strict-origin-if-cross-origin"], ["same-origin"])
        assert policy.policy is None and policy.source == "header"
        assert policy.unknown == ("strict-origin-if-cross-origin",)

    def test_an_empty_header_lets_the_meta_decide(self) -> None:
        assert effective_referrer_policy([" "], ["same-origin"]).policy == "same-origin"

    def test_meta_legacy_keywords_and_last_valid_wins(self) -> None:
        assert meta_policy(["never", "always", "nonsense"]) == "unsafe-url"
        assert meta_policy(["default"]) == "strict-origin-when-cross-origin"
        assert meta_policy(["nonsense", ""]) is None


class TestCookies:
    def test_attributes_case_insensitive(self) -> None:
        cookie = parse_set_cookie("sid=abc; path=/; httponly; SECURE")
        assert cookie is not None and cookie.http_only and cookie.secure

    def test_no_pair(self) -> None:
        assert parse_set_cookie("justtext; Secure") is None

    @pytest.mark.parametrize(
        "line",
        [
            "connect.sid=s%3Aabc.def; Path=/",
            "JSESSIONID=1234; Path=/",
            "PHPSESSID=x",
            "laravel_session=eyJpdiI6; Path=/",
            "_myapp_session=abc",
            "jira_app_session=3f9c1a7e5b2d",
            "token=Zk3q9XbT7mWp2LrV8nYcQ1; Path=/",
            # Session words inside longer names, with an expiry: still session cookies.
            "appSession=eyJhbGciOiJkaXIi; Expires=Wed, 01 Jan 2031 00:00:00 GMT",
            "next-auth.session-token=abc; Max-Age=2592000",
            "AUTH_SESSION_ID=abc.def; Max-Age=600",
            "JSESSIONID.node1=1234; Max-Age=600",
        ],
    )
    def test_session_cookies(self, line: str) -> None:
        cookie = parse_set_cookie(line)
        assert cookie is not None and is_session_cookie(cookie)

    @pytest.mark.parametrize(
        "line",
        [
            "theme=dark; Path=/",
            "lang=en-US; Max-Age=31536000",
            "consent=Zk3q9XbT7mWp2LrV8nYcQ1; Max-Age=31536000",
            "sidebar_state=open; Max-Age=31536000",
            "XSRF-TOKEN=abc; Max-Age=600",
            "XSRF-TOKEN=6f1c2a9e-4b7d-4e2a-9c3f-8d5b1a7e0c42; Path=/; Secure",
            "csrftoken=Zk3q9XbT7mWp2LrV8nYcQ1; Path=/",
        ],
    )
    def test_not_session_cookies(self, line: str) -> None:
        cookie = parse_set_cookie(line)
        assert cookie is not None and not is_session_cookie(cookie)

    def test_deleting(self) -> None:
        cookie = parse_set_cookie("sid=; Max-Age=0")
        assert cookie is not None and cookie.deleting
