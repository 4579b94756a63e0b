"""Property-based tests of the parsers that read what an app serves: the descriptor, the header
parsers, URL joining and context-variable filling, and qsh against the atlassian-jwt package.

Each raises nothing but its documented error (`DescriptorError` for the descriptor, nothing for
the others), whatever the input. tests/connect/test_tokens.py already compares qsh with
atlassian-jwt on ASCII paths and arbitrary queries; here, on non-ASCII paths, hash to hash.
"""

from __future__ import annotations

import json
from typing import Any

from atlassian_jwt import url_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectguard.checks.headers import (
    POLICIES,
    cache_directives,
    effective_referrer_policy,
    is_session_cookie,
    meta_policy,
    parse_hsts,
    parse_set_cookie,
)
from connectguard.connect.descriptor import Descriptor, parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.connect.tokens import canonical_request, query_hash
from connectguard.connect.urls import (
    context_value,
    fill_context_variables,
    is_absolute,
    join_url,
    scheme_of,
)
from connectguard.errors import DescriptorError
from connectguard.probes.pages import parse_page

SOURCE = "https://app.example.com/atlassian-connect.json"
# Any text at all, with the awkward characters made common: lone surrogates (valid in JSON as
# "\ud800"), NUL, control characters, braces, slashes.
AWKWARD = st.one_of(
    st.characters(blacklist_categories=()),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.sampled_from("\x00\n\r\x1b{}$/:?#%&= "),
)
ANY_TEXT = st.text(alphabet=AWKWARD, max_size=40)
URLISH = st.one_of(
    ANY_TEXT,
    st.sampled_from(["/", "", "https://app.example.com", "http://x.test:99/a", "//h/p", "ftp://f"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["/", "https://h.test/", "{x}/"]), ANY_TEXT),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT | URLISH,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["url", "key", "target", "x", "conditions"]) | ANY_TEXT,
            children,
            max_size=4,
        )
    ),
    max_leaves=25,
)
MODULE_ENTRY = st.fixed_dictionaries(
    {"url": URLISH},
    optional={"key": ANY_TEXT, "cacheable": st.booleans(), "target": JSON_VALUES},
)
MODULES = st.one_of(
    JSON_VALUES,
    st.dictionaries(
        st.sampled_from(["generalPages", "webhooks", "adminPages", "webItems"]),
        st.one_of(MODULE_ENTRY, st.lists(MODULE_ENTRY, max_size=4)),
        max_size=3,
    ),
)
OPTIONAL_FIELDS = {
    "authentication": st.one_of(JSON_VALUES, st.just({"type": "none"})),
    "lifecycle": st.dictionaries(ANY_TEXT, st.one_of(URLISH, JSON_VALUES), max_size=3),
    "apiMigrations": st.dictionaries(ANY_TEXT, st.booleans(), max_size=2),
    "modules": MODULES,
}
NAME = st.text(alphabet=AWKWARD, min_size=1, max_size=20).filter(str.strip)
BASE_URLS = st.one_of(
    st.sampled_from(["https://app.example.com", "https://app.example.com/ctx/", "http://h:1"]),
    st.builds("https://app.example.com/{}".format, ANY_TEXT),
    URLISH,
)
# Shaped like a descriptor, so that most are read and planned...
SHAPED = st.fixed_dictionaries(
    {"key": NAME, "name": NAME, "baseUrl": BASE_URLS}, optional=OPTIONAL_FIELDS
)
# ...and anything else an object can hold.
ANYTHING = st.fixed_dictionaries(
    {}, optional={"key": JSON_VALUES, "name": JSON_VALUES, "baseUrl": JSON_VALUES} | OPTIONAL_FIELDS
)
SOME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the descriptor -----------------------------------------------------------------------


def _parse(data: bytes | str) -> Descriptor | None:
    """The descriptor, or None for a DescriptorError with one plain sentence; nothing else."""
    try:
        return parse_descriptor(data, SOURCE)
    except DescriptorError as error:
        assert "\n" not in error.message
        assert len(error.message) < 500
        return None


@SOME
@given(st.binary(max_size=200))
def test_descriptor_from_any_bytes(data: bytes) -> None:
    _parse(data)


@SOME
@given(st.one_of(SHAPED, ANYTHING), st.booleans())
def test_descriptor_from_any_json_object(document: dict[str, Any], ascii: bool) -> None:
    descriptor = _parse(json.dumps(document, ensure_ascii=ascii))
    if descriptor is not None:
        _plan_and_write(descriptor)


@SOME
@given(SHAPED, st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
def test_lone_surrogates_never_reach_a_report(document: dict[str, Any], lone: str) -> None:
    document = {**document, "name": document["name"] + lone, lone: [lone, {lone: lone}]}
    descriptor = _parse(json.dumps(document))
    if descriptor is not None:
        assert "\ufffd" in descriptor.name
        _plan_and_write(descriptor)


def _plan_and_write(descriptor: Descriptor) -> None:
    # What was kept can be written to any report: no lone surrogate is left.
    json.dumps(descriptor.raw, ensure_ascii=False).encode("utf-8")
    plan = plan_endpoints(descriptor, SOURCE, max_endpoints=5)
    assert len(plan.endpoints) <= 5
    assert all(scheme_of(e.url) in {"http", "https"} for e in plan.endpoints)
    for endpoint in plan.endpoints:
        endpoint.url.encode("utf-8")


@SOME
@given(st.integers(1, 3000), st.sampled_from(["[", '{"a":']))
def test_descriptor_nested_at_any_depth(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    assert _parse(opener * depth + "1" + closer * depth) is None


# --- header parsers ------------------------------------------------------------------------

HEADER_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
HEADER_LINES = st.lists(HEADER_TEXT, max_size=4)


@SOME
@given(HEADER_LINES)
def test_hsts_parser_never_raises(lines: list[str]) -> None:
    hsts = parse_hsts(lines)
    assert (hsts is None) == (not lines)
    if hsts is not None and hsts.valid:
        assert hsts.max_age is not None and hsts.max_age >= 0


@SOME
@given(
    st.integers(0, 10**12),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["max-age", "Max-Age", "MAX-AGE"]),
    st.booleans(),
    st.sampled_from(["", " ", "  "]),
)
def test_hsts_parser_reads_what_was_written(
    max_age: int, subdomains: bool, preload: bool, name: str, quoted: bool, space: str
) -> None:
    value = f'"{max_age}"' if quoted else str(max_age)
    parts = [f"{name}{space}={space}{value}"]
    parts += ["includeSubDomains"] * subdomains + ["preload"] * preload
    hsts = parse_hsts([f"{space};{space}".join(parts)])
    assert hsts is not None and hsts.valid, hsts
    assert (hsts.max_age, hsts.include_subdomains, hsts.preload) == (max_age, subdomains, preload)


TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)


@SOME
@given(HEADER_LINES, st.lists(TOKENS, max_size=5))
def test_cache_control_directives(lines: list[str], names: list[str]) -> None:
    cache_directives(lines)
    found = cache_directives([", ".join(n.upper() for n in names)])
    assert found == set(names)


@SOME
@given(HEADER_LINES, st.lists(HEADER_TEXT, max_size=3))
def test_referrer_policy_never_raises(lines: list[str], metas: list[str]) -> None:
    policy = effective_referrer_policy(lines, metas)
    assert policy.policy is None or policy.policy in POLICIES
    known = [t.strip().lower() for line in lines for t in line.split(",") if t.strip()]
    known = [t for t in known if t in POLICIES]
    if known:
        assert (policy.policy, policy.source) == (known[-1], "header")
    elif policy.policy is not None:
        assert (policy.policy, policy.source) == (meta_policy(metas), "meta")


@SOME
@given(st.text(alphabet=st.sampled_from("<>/=\"' metanrfoci-&;!x"), max_size=300))
def test_pages_parse_any_markup(html: str) -> None:
    page = parse_page("https://app.example.com/p", html.encode("utf-8", "surrogatepass"))
    assert all(meta_policy([m]) in POLICIES | {None} for m in page.meta_referrers)


@SOME
@given(HEADER_TEXT)
def test_set_cookie_parser_never_raises(line: str) -> None:
    cookie = parse_set_cookie(line)
    if cookie is not None:
        assert cookie.name
        assert all(name == name.lower() for name, _ in cookie.attributes)
        is_session_cookie(cookie)
        assert isinstance(cookie.deleting, bool)


# --- URL joining and context variables ------------------------------------------------------


@SOME
@given(ANY_TEXT, URLISH)
def test_join_url(base: str, url: str) -> None:
    joined = join_url(base, url)
    if is_absolute(url):
        assert joined == url
    elif not url:
        assert joined == base
    else:
        stem = base.rstrip("/")
        assert joined == stem + "/" + url.lstrip("/")
        assert joined[len(stem)] == "/"


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.ABC_", min_size=1, max_size=20)
LITERALS = st.text(alphabet=st.characters(blacklist_characters="{}$"), max_size=10)


@SOME
@given(st.lists(st.tuples(LITERALS, NAMES, st.booleans()), max_size=5), LITERALS)
def test_each_context_variable_is_filled_on_its_own(
    parts: list[tuple[str, str, bool]], tail: str
) -> None:
    template = "".join(f"{text}{'$' if dollar else ''}{{{name}}}" for text, name, dollar in parts)
    expected = "".join(text + context_value(name) for text, name, _ in parts)
    assert fill_context_variables(template + tail) == expected + tail


@SOME
@given(ANY_TEXT)
def test_filling_never_raises_and_leaves_plain_text_alone(text: str) -> None:
    filled = fill_context_variables(text)
    if "{" not in text:
        assert filled == text
    scheme = scheme_of(text)
    assert scheme == scheme.lower()


# --- qsh against atlassian-jwt ----------------------------------------------------------------

# Non-ASCII path segments (atlassian-jwt keeps them as they are, and so must qsh); no "/", "?",
# "#", ";" or ":", which urllib, under atlassian-jwt, reads as structure.
UNICODE_SEGMENT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/?#;:"
    ),
    min_size=1,
    max_size=8,
)


@SOME
@given(
    st.sampled_from(["GET", "POST", "delete"]),
    st.lists(UNICODE_SEGMENT, min_size=1, max_size=4),
    st.dictionaries(st.sampled_from(["a", "é", "b c"]), st.text(max_size=6), max_size=3),
)
def test_qsh_equals_atlassian_jwt_on_unicode_paths(
    method: str, segments: list[str], query: dict[str, str]
) -> None:
    from urllib.parse import urlencode

    relative = "/" + "/".join(segments)
    if query:
        relative += "?" + urlencode(query)
    expected = url_utils.hash_url(method, relative)
    assert query_hash(method, relative, "") == expected
    assert (
        query_hash(
            method, "https://app.example.com/base" + relative, "https://app.example.com/base/"
        )
        == expected
    )
    assert canonical_request(method, relative, "").startswith(method.upper() + "&/")
