"""Requirement 7 detectors on literal pages and scripts: the install's secret, secret-shaped values
under a secret's name, token writes to client storage, secrets in descriptor URLs."""

from __future__ import annotations

import pytest

from connectguard.checks.secrets import (
    content_findings,
    descriptor_findings,
    is_token_name,
    storage_writes,
    token_expression,
)
from connectguard.model import Exchange, Level

SECRET = "61ca0fb0be25bbb33d3d25fa836b5340ae5f9b0ac10c45153ca7f0da492ed7e0"


def page(body: str, path: str = "/board", ctype: str = "text/html") -> Exchange:
    return Exchange(
        "GET",
        f"https://app.example.com{path}",
        status=200,
        headers=(("Content-Type", ctype),),
        body=body.encode(),
    )


def checks(exchange: Exchange, secret: str | None = SECRET) -> list[tuple[str, Level]]:
    return [(f.check, f.level) for f in content_findings(exchange, secret)]


def test_install_secret_anywhere_in_a_page_fails_and_is_never_shown() -> None:
    findings = content_findings(page(f"<p>debug: {SECRET}</p>"), SECRET)
    assert [(f.check, f.level) for f in findings] == [("shared-secret-in-content", Level.FAIL)]
    assert SECRET not in findings[0].summary and SECRET[:16] not in findings[0].summary


def test_public_hash_shaped_like_a_secret_is_not_a_secret() -> None:
    build = "fbe9c7aacbc6f9aea4e03730e42fc900550336d66e09134562e9cb8311bb7b07"
    body = f'<meta name="build" content="{build}"><footer>Build {build}</footer>'
    assert checks(page(body)) == []
    assert checks(page(body), secret=None) == []


def test_secret_shaped_value_under_a_secret_name_fails_without_the_install_secret() -> None:
    body = '<script>window.CFG = {"sharedSecret": "Zx1c9Vb7Nm3Qw5Er8Ty2Ui4Op6As0Df"};</script>'
    assert checks(page(body), secret=None) == [("secret-value-in-content", Level.FAIL)]
    escaped = (
        "<div data-cfg='{&quot;client_secret&quot;: &quot;Zx1c9Vb7Nm3Qw5Er8Ty2Ui4Op6As0Df&quot;}'>"
    )
    assert checks(page(escaped), secret=None) == [("secret-value-in-content", Level.FAIL)]


def test_placeholders_and_empty_secret_names_are_not_secrets() -> None:
    body = (
        '<script>var a = {clientSecret: "YOUR_CLIENT_SECRET_HERE", sharedSecret: ""};'
        'var b = {shared_secret: "example-secret-value-1234567"};</script>'
        "<p>Your sharedSecret stays on the server.</p>"
    )
    assert checks(page(body), secret=None) == []


def test_storage_writes_of_tokens() -> None:
    script = (
        'localStorage.setItem("connect-jwt", t); sessionStorage["accessToken"] = x;'
        "localStorage.authToken = y; document.cookie = `jwt=${t}; path=/`;"
        "localStorage.setItem(KEY, refreshToken);"
    )
    writes = [(w.store, w.name, w.certain, w.value) for w in storage_writes(script)]
    assert writes == [
        ("localStorage", "connect-jwt", True, ""),
        ("localStorage", "KEY", True, "refreshToken"),
        ("sessionStorage", "accessToken", True, ""),
        ("localStorage", "authToken", True, ""),
        ("document.cookie", "jwt", True, ""),
    ]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            'AP.context.getToken(function(token){ sessionStorage.setItem("ctx", token); });',
            ("sessionStorage", "ctx", True, "token"),
        ),
        (
            'AP.context.getToken(function (t) { sessionStorage.setItem("ctx", t); });',
            ("sessionStorage", "ctx", True, "t"),
        ),
        (
            "AP.context.getToken().then((t) => localStorage.setItem('a', JSON.stringify(t)));",
            ("localStorage", "a", True, "t"),
        ),
        (
            "const t = await AP.context.getToken(); localStorage['x'] = t;",
            ("localStorage", "x", True, "t"),
        ),
        (
            'var q = new URLSearchParams(location.search); var j = q.get("jwt"); var k = j;'
            "localStorage.ctx = k;",
            ("localStorage", "ctx", True, "k"),
        ),
        (
            "var q = new URLSearchParams(window.location.search);\n"
            'document.cookie = "auth=" + q.get("jwt") + "; path=/; SameSite=None; Secure";',
            ("document.cookie", "auth", True, 'q.get("jwt")'),
        ),
        (
            "document.cookie = `auth=${data.accessToken}; path=/`;",
            ("document.cookie", "auth", True, "data.accessToken"),
        ),
        (
            'localStorage.setItem("cfg", window.CONFIG["sharedSecret"]);',
            ("localStorage", "cfg", True, 'window.CONFIG["sharedSecret"]'),
        ),
        (
            'localStorage.setItem("s", JSON.stringify({jwt: t, exp: 1}));',
            ("localStorage", "s", False, "jwt"),
        ),
    ],
    ids=[
        "callback-token",
        "callback-renamed",
        "then-arrow",
        "awaited",
        "assigned-twice",
        "jwt-parameter-cookie",
        "template-cookie",
        "shared-secret-property",
        "token-key-in-object",
    ],
)
def test_token_values_make_a_token_write_whatever_the_key(
    script: str, expected: tuple[str, str, bool, str]
) -> None:
    assert [(w.store, w.name, w.certain, w.value) for w in storage_writes(script)] == [expected]


def test_a_jwt_literal_is_shown_shortened() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJjbGllbnQta2V5In0.c2lnbmF0dXJl"
    writes = storage_writes(f'document.cookie = "a={jwt}; path=/";')
    assert [(w.name, w.certain) for w in writes] == [("a", True)]
    assert jwt not in writes[0].value and writes[0].value.startswith("eyJhbGci")


def test_harmless_storage_writes_are_not_findings() -> None:
    script = (
        'localStorage.setItem("theme", "dark"); sessionStorage.setItem(e, t);'
        'document.cookie = "csrf_token=" + c; localStorage.length == 0;'
        "if (localStorage.token == null) {}"
        'localStorage.setItem("token-color", "#0052CC"); localStorage.setItem("n", tokens.length);'
        'localStorage.setItem("c", getTokenColor()); document.cookie = "tokenExpiry=" + when;'
        'document.cookie = "theme=dark; path=/"; localStorage.setItem("k");'
    )
    assert storage_writes(script) == []


def test_token_expressions() -> None:
    assert token_expression('params.get( "access_token" )') == ('params.get("access_token")', True)
    assert token_expression("getJwt()") == ("getJwt()", True)
    assert token_expression("ctx", {"ctx"}) == ("ctx", True)
    assert token_expression("ctx.theme", {"ctx"}) == ("", False)
    assert token_expression('"token " + count') == ("", False)
    assert token_expression("`${user.name}`") == ("", False)


def test_scripts_served_as_files_are_searched_for_storage_writes() -> None:
    script = page('sessionStorage.setItem("jwt", token);', "/app.js", "application/javascript")
    assert checks(script) == [("token-in-client-storage", Level.FAIL)]
    css = page('a{content:"localStorage.setItem(\\"jwt\\", t)"}', "/a.css", "text/css")
    assert checks(css) == []


def test_token_names() -> None:
    assert is_token_name("id_token") and is_token_name("JWT") and is_token_name("clientSecret")
    assert is_token_name("connect-jwt") and is_token_name("jwtValue") and is_token_name("TOKEN_V2")
    assert not is_token_name("csrfToken") and not is_token_name("theme")
    assert not is_token_name("token-color") and not is_token_name("tokenExpiry")
    assert not is_token_name("tokenizer") and not is_token_name("apiKey")
    assert not is_token_name("issues.nextPageToken") and not is_token_name("syncToken")
    assert not is_token_name("designTokens") and is_token_name("refreshToken")


def test_a_token_write_under_a_neutral_key_fails_and_names_the_value() -> None:
    body = (
        '<script src="https://connect-cdn.atl-paas.net/all.js"></script><script>'
        'AP.context.getToken(function(token){ sessionStorage.setItem("ctx", token); });</script>'
    )
    findings = content_findings(page(body), None)
    assert [(f.check, f.level) for f in findings] == [("token-in-client-storage", Level.FAIL)]
    assert findings[0].summary == (
        "/board writes token (a token) to sessionStorage under 'ctx': any script on the origin "
        "can read it back."
    )


def test_descriptor_urls_with_secret_parameters_or_the_install_secret() -> None:
    raw = {
        "baseUrl": "https://app.example.com",
        "modules": {
            "generalPages": [
                {"url": "/page?apiKey=Zk3LmQ9xTq&project={project.key}"},
                {"url": "/other?secret={secret}&x=1"},
            ],
            "webhooks": [{"url": f"/hook?token={SECRET}"}],
        },
    }
    summaries = [f.summary for f in descriptor_findings(raw, SECRET)]
    assert summaries[0] == "The descriptor contains the install's sharedSecret."
    assert summaries[1:] == ["The descriptor URL /page carries a secret in its apiKey parameter."]
    clean = {"modules": {"generalPages": [{"url": "/page?project={project.key}&mode=full"}]}}
    assert descriptor_findings(clean, SECRET) == []


def test_a_repeated_write_is_one_write() -> None:
    unit = 'var t=ctx.jwtToken;localStorage.setItem("k", t);document.cookie="a="+t;'
    writes = storage_writes(unit * 500)
    assert [(w.store, w.name, w.value) for w in writes] == [
        ("localStorage", "k", "t"),
        ("document.cookie", "a", "t"),
    ]


def test_a_callback_parameter_is_a_token_only_inside_its_callback() -> None:
    bundle = (
        'AP.context.getToken(function(e){fetch("/api",{headers:{Authorization:"JWT "+e}})});'
        'function t(e){localStorage.setItem("board.theme",e)}'
        "var n=function(e){sessionStorage.setItem('board.lastTab',e)};"
    )
    assert storage_writes(bundle) == []
    inside = 'AP.context.getToken(function(e){var k=e;localStorage.setItem("ctx",k)});'
    assert [(w.name, w.value) for w in storage_writes(inside)] == [("ctx", "k")]
    arrow = (
        'AP.context.getToken(e => { sessionStorage.setItem("s", e) }); localStorage.setItem("o", e)'
    )
    assert [w.name for w in storage_writes(arrow)] == ["s"]


def test_an_awaited_token_is_a_token_in_its_own_function() -> None:
    script = (
        "async function a(){const e = await AP.context.getToken(); localStorage.setItem('t', e)}"
        "function b(e){localStorage.setItem('theme', e)}"
    )
    assert [w.name for w in storage_writes(script)] == ["t"]
