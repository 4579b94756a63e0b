"""Requirement 7 detectors on literal pages and scripts: the install's secret, secret-shaped values
under a secret's name, token writes to client storage, secrets in descriptor URLs."""

from __future__ import annotations

from connectguard.checks.secrets import (
    content_findings,
    descriptor_findings,
    is_token_name,
    storage_writes,
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
    writes = [(w.store, w.name, w.certain) for w in storage_writes(script)]
    assert writes == [
        ("localStorage", "connect-jwt", True),
        ("localStorage", "KEY = refreshToken", False),
        ("sessionStorage", "accessToken", True),
        ("localStorage", "authToken", True),
        ("document.cookie", "jwt", True),
    ]


def test_harmless_storage_writes_are_not_findings() -> None:
    script = (
        'localStorage.setItem("theme", "dark"); sessionStorage.setItem(e, t);'
        'document.cookie = "csrf_token=" + c; localStorage.length == 0;'
        "if (localStorage.token == null) {}"
    )
    assert storage_writes(script) == []


def test_scripts_served_as_files_are_searched_for_storage_writes() -> None:
    script = page('sessionStorage.setItem("jwt", token);', "/app.js", "application/javascript")
    assert checks(script) == [("token-in-client-storage", Level.FAIL)]
    css = page('a{content:"localStorage.setItem(\\"jwt\\", t)"}', "/a.css", "text/css")
    assert checks(css) == []


def test_token_names() -> None:
    assert is_token_name("id_token") and is_token_name("JWT") and is_token_name("clientSecret")
    assert not is_token_name("csrfToken") and not is_token_name("theme")


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
