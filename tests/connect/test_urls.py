"""URLs as Connect builds them: joining to the baseUrl and filling context variables."""

from __future__ import annotations

import pytest

from connectguard import model
from connectguard.connect import urls
from connectguard.connect.urls import fill_context_variables, is_absolute, join_url


@pytest.mark.parametrize(
    ("base", "url", "joined"),
    [
        (
            "https://app.example.com/confluence/",
            "/macro",
            "https://app.example.com/confluence/macro",
        ),
        (
            "https://app.example.com/confluence",
            "/macro",
            "https://app.example.com/confluence/macro",
        ),
        ("https://app.example.com/confluence", "macro", "https://app.example.com/confluence/macro"),
        (
            "https://app.example.com/confluence/",
            "macro",
            "https://app.example.com/confluence/macro",
        ),
        ("https://app.example.com", "/a/b?x=1", "https://app.example.com/a/b?x=1"),
        ("https://app.example.com/", "/", "https://app.example.com/"),
        # string concatenation, not RFC 3986 resolution: dot segments stay as written
        ("https://app.example.com/ctx/", "../up", "https://app.example.com/ctx/../up"),
    ],
)
def test_join_url_appends_with_exactly_one_slash(base: str, url: str, joined: str) -> None:
    assert join_url(base, url) == joined


@pytest.mark.parametrize(
    "url",
    ["https://docs.example.com/guide", "http://plain.example.com/", "mailto:help@example.com"],
)
def test_join_url_keeps_absolute_urls(url: str) -> None:
    assert is_absolute(url)
    assert join_url("https://app.example.com/base/", url) == url


def test_join_url_with_empty_url_is_the_base() -> None:
    assert join_url("https://app.example.com/base", "") == "https://app.example.com/base"


def test_context_variables_are_replaced_one_by_one() -> None:
    filled = fill_context_variables("/board?project={project.key}&issue=${issue.key}")
    assert filled == "/board?project=TEST&issue=TEST-1"


@pytest.mark.parametrize(
    ("template", "filled"),
    [
        ("/p?id={project.id}", "/p?id=10000"),
        ("/page/{page.id}/space/{space.key}", "/page/123456/space/TEST"),
        ("/x?a={page.id}{space.key}", "/x?a=123456TEST"),
        ("/x?flag={condition.is_admin_mode}", "/x?flag=true"),
        ("/x?u={some.unknown}&v=${another}", "/x?u=1&v=1"),
        ("/x?k={Issue.Key}", "/x?k=TEST-1"),
        # nothing else is touched: encoded text, unmatched braces, a lone dollar
        ("/a%20b?q=%2A&r=$&s={open", "/a%20b?q=%2A&r=$&s={open"),
        ("/x?json={}", "/x?json={}"),
    ],
)
def test_fill_context_variables(template: str, filled: str) -> None:
    assert fill_context_variables(template) == filled


def test_origin_of_is_the_models() -> None:
    assert urls.origin_of is model.origin_of


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("HTTPS://app.example.com/x", "https"),
        ("http://app.example.com", "http"),
        ("wss://socket.example.com", "wss"),
        ("mailto:help@example.com", ""),
        ("/path?next=https://x", ""),
        ("", ""),
    ],
)
def test_scheme_of(url: str, scheme: str) -> None:
    assert urls.scheme_of(url) == scheme
