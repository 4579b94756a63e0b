"""The page parser the content checks read: references, forms, scripts, text; broken and hostile
markup parses without error and in linear time."""

from __future__ import annotations

import pytest

from connectguard.model import Exchange
from connectguard.probes.pages import (
    MAX_FORMS,
    MAX_REFERENCES,
    css_urls,
    is_html,
    is_script,
    loaded_resources,
    page_of,
    parse_page,
    srcset_urls,
)


def html_exchange(
    body: str, url: str = "https://app.example.com/page", ctype: str = ""
) -> Exchange:
    headers = (("Content-Type", ctype),) if ctype else ()
    return Exchange("GET", url, status=200, headers=headers, body=body.encode())


def test_references_resolve_against_base_and_keep_element_policy() -> None:
    page = parse_page(
        "https://app.example.com/p/page",
        b'<html><head><base href="https://cdn.example.com/assets/"></head><body>'
        b'<img src="logo.png" referrerpolicy="no-referrer"><a href="/x" rel="noreferrer">x</a>'
        b'<script src="//code.example.org/lib.js"></script><a href="mailto:a@b.c">m</a>',
    )
    urls = [(r.tag, r.url, r.loads, r.referrer_policy) for r in page.references]
    assert urls == [
        ("img", "https://cdn.example.com/assets/logo.png", True, "no-referrer"),
        ("a", "https://cdn.example.com/x", False, "no-referrer"),
        ("script", "https://code.example.org/lib.js", True, None),
    ]


def test_srcset_and_css_urls_are_references_the_page_loads() -> None:
    page = parse_page(
        "https://app.example.com/p/page",
        b'<head><link rel="preload" as="image" imagesrcset="/h1.png 1x, /h2.png 2x">'
        b'<link rel="alternate" imagesrcset="https://no.example.net/x.png">'
        b"<style>/* url(https://no.example.net/c.png) */ @import 'https://f.example.net/a.css';"
        b' .b { background: URL( "img/b.png" ) }</style></head><body>'
        b'<picture><source srcset="https://cdn.example.net/s.png 1x, '
        b'https://cdn.example.net/t.png 2x" type="image/png">'
        b'<img referrerpolicy="no-referrer" srcset="i.png 2x" alt=""></picture>'
        b"<div style=\"background-image: url('https://cdn.example.net/bg.png')\" "
        b'referrerpolicy="unsafe-url">x</div></body>',
    )
    refs = [(r.tag, r.attribute, r.url, r.loads, r.referrer_policy) for r in page.references]
    assert refs == [
        ("link", "imagesrcset", "https://app.example.com/h1.png", True, None),
        ("link", "imagesrcset", "https://app.example.com/h2.png", True, None),
        ("style", "url", "https://f.example.net/a.css", True, None),
        ("style", "url", "https://app.example.com/p/img/b.png", True, None),
        ("source", "srcset", "https://cdn.example.net/s.png", True, "no-referrer"),
        ("source", "srcset", "https://cdn.example.net/t.png", True, "no-referrer"),
        ("img", "srcset", "https://app.example.com/p/i.png", True, "no-referrer"),
        ("div", "style", "https://cdn.example.net/bg.png", True, None),
    ]


def test_srcset_and_css_parsing() -> None:
    assert srcset_urls(" a.png 1x,b.png,, c.png (x, y) 2x, data:image/png;base64,AA== 3x") == [
        "a.png",
        "b.png",
        "c.png",
        "data:image/png;base64,AA==",
    ]
    css = "a{b:url(x.png)} /* @import 'n.css'; */ @import url(\"i.css\"); c{d:url('y.png')}"
    assert list(css_urls(css)) == ["x.png", "i.css", "y.png"]
    assert list(css_urls("url(" * 50_000 + "/*" * 50_000)) == []


def test_forms_carry_their_heading_and_loose_fields_their_block() -> None:
    page = parse_page(
        "https://app.example.com/setup",
        b"<h1>Settings</h1><form><h2>Inside</h2><input name=a></form>"
        b"<h2>Connect Jira</h2><form><input type=password name=p></form>"
        b'<div class="setup"><h3>Paste your token</h3><p id="help">Made at id.atlassian.com</p>'
        b'<input type="password" aria-describedby="help"></div>'
        b'<section><span id="l">PIN</span><input type="password" aria-labelledby="l"></section>',
    )
    first, second, block, other = page.forms
    assert (first.heading, second.heading) == ("Settings", "Connect Jira")
    assert block.loose and block.heading == "Paste your token"
    assert block.text == "Paste your token Made at id.atlassian.com"
    assert block.fields[0].label == "Made at id.atlassian.com"
    assert other.loose and other.text == "PIN" and other.fields[0].label == "PIN"


def test_forms_collect_fields_with_their_labels_but_never_values() -> None:
    page = parse_page(
        "https://app.example.com/login",
        b'<form method="POST" action="/session"><label for="u">Work e-mail</label>'
        b'<input id="u" type="email" name="user" value="someone@example.com">'
        b'<label>Password <input type="password" name="pw" value="hunter2"></label>'
        b'<input type="hidden" name="csrf" value="abc"><button>Go</button></form>'
        b'<input type="password" placeholder="PIN">',
    )
    form, loose = page.forms
    assert form.action == "https://app.example.com/session" and form.method == "post"
    assert [(f.type, f.name, f.label) for f in form.fields] == [
        ("email", "user", "Work e-mail"),
        ("password", "pw", "Password"),
    ]
    assert "hunter2" not in form.describe() and "someone@" not in form.describe()
    assert loose.loose and loose.fields[0].label == "PIN"


def test_text_skips_scripts_and_styles_and_scripts_are_kept_apart() -> None:
    page = parse_page(
        "https://app.example.com/",
        b"<title>T</title><style>p{}</style><p>Hello <b>there</b></p>"
        b"<script>var secret = 1;</script><meta name=referrer content=unsafe-url>",
    )
    assert page.title == "T"
    assert page.text == "Hello there"
    assert page.scripts == ("var secret = 1;",)
    assert page.meta_referrers == ("unsafe-url",)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x01\x02\xff" * 1000,
        b"<" * 200_000,
        b"<!--" * 250_000,
        b"<a" * 500_000,
        b"<div>" * 100_000,
        b"<p>" + b"x" * 2_000_000,
        b"<form><input type=password" + b" a=b" * 100_000,
        b"\xef\xbb\xbf<html><body><a href='http://[::1'>broken</a>",
    ],
    ids=["empty", "binary", "lt", "comments", "open-tags", "deep", "long-line", "attrs", "bad-url"],
)
def test_hostile_markup_parses_to_a_bounded_page(body: bytes) -> None:
    page = parse_page("https://app.example.com/", body)
    assert len(page.references) <= MAX_REFERENCES
    assert len(page.text) <= 200_000


def test_reference_cap_is_reported() -> None:
    body = b"".join(b'<a href="/p%d">x</a>' % i for i in range(MAX_REFERENCES + 10))
    page = parse_page("https://app.example.com/", body)
    assert len(page.references) == MAX_REFERENCES
    assert page.capped


def test_past_the_caps_what_the_checks_need_is_still_read() -> None:
    links = b"".join(b'<a href="/issue/%d">x</a>' % i for i in range(MAX_REFERENCES + 600))
    partner = b'<a href="https://partner.example.org/go?jwt=abc.def.ghi">partner</a>'
    page = parse_page("https://app.example.com/", links + partner)
    assert page.references[-1].url.startswith("https://partner.example.org/")
    assert len(page.references) == MAX_REFERENCES + 1 and page.capped

    trivial = b"".join(
        b'<form><button name="remove" value="%d">x</button></form>' % i
        for i in range(MAX_FORMS + 50)
    )
    login = b'<form><input type="email" name="email"><input type="password" name="pw"></form>'
    forms = parse_page("https://app.example.com/", trivial + login).forms
    assert len(forms) == MAX_FORMS + 1
    assert [f.type for f in forms[-1].fields] == ["email", "password"]


def test_forms_in_script_templates_are_read() -> None:
    body = (
        b'<div id="app"></div><script type="text/x-template" id="connect">'
        b"<form><h3>Connect your Atlassian account</h3>"
        b'<input type="email" name="email"><input type="password" name="token"></form></script>'
        b'<script type="text/javascript">var form = "<form><input type=password></form>";</script>'
    )
    forms = parse_page("https://app.example.com/", body).forms
    assert [[f.type for f in form.fields] for form in forms] == [["email", "password"]]
    assert "Atlassian account" in forms[0].text


def test_html_and_script_detection() -> None:
    assert is_html(html_exchange("<p>x</p>", ctype="text/html; charset=utf-8"))
    assert is_html(html_exchange("  <!DOCTYPE html><p>x</p>"))
    assert not is_html(html_exchange("<p>x</p>", ctype="application/json"))
    assert page_of(html_exchange("\x00binary", ctype="text/html")) is None
    js = Exchange("GET", "https://a.example.com/app.js", status=200, body=b"x")
    assert is_script(js)
    typed = Exchange(
        "GET", "https://a.example.com/x", headers=(("Content-Type", "text/javascript"),)
    )
    assert is_script(typed)
    css = Exchange("GET", "https://a.example.com/a.js", headers=(("Content-Type", "text/css"),))
    assert not is_script(css)


def test_loaded_resources_are_scripts_styles_and_frames_only() -> None:
    exchange = html_exchange(
        '<script src="/a.js"></script><link rel="stylesheet" href="/s.css"><link rel="icon" '
        'href="/i.png"><iframe src="/f"></iframe><img src="/i.png"><a href="/l">l</a>'
        '<script src="/a.js#x"></script><link rel="canonical" href="https://other.example.net/">',
        ctype="text/html",
    )
    assert loaded_resources(exchange) == [
        "https://app.example.com/a.js",
        "https://app.example.com/s.css",
        "https://app.example.com/f",
    ]
