"""qsh against SPEC and atlassian-jwt, and forged tokens that each carry exactly one defect."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from atlassian_jwt import url_utils
from hypothesis import given
from hypothesis import strategies as st

from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.tokens import (
    CONTEXT_QSH,
    ForgedToken,
    canonical_request,
    connect_token,
    forged_tokens,
    install_payload,
    install_tokens,
    qsh_tampered_tokens,
    query_hash,
    shorten,
    sign_hs256,
)

BASE = "https://app.example.com"
SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef"
CLIENT_KEY = "7b0fbd5c-9a2f-4c57-9a1e-2e5e0d7f3a11"


# --- qsh: the SPEC vectors ---------------------------------------------------------------

SPEC_VECTORS = [
    (
        "GET",
        "/path/to/service?zee_last=param&repeated=parameter 1&first=param&repeated=parameter 2",
        "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param",
        "e52bb281606c3bd9ca16cfe96fe2df78f5d9ffa126f06befd750dfa10fa1a897",
    ),
    ("GET", "/", "GET&/&", "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239"),
    (
        "POST",
        "/user",
        "POST&/user&",
        "18f9496a296abb418647d87857700529a1f4b2d18b4c1cfa77bbebdeeda6f068",
    ),
    (
        "GET",
        "/some/path/?param=value",
        "GET&/some/path&param=value",
        "f6c7b1b5672206eb10bd77c145d5f83f33796e955f04d6b44007a9d762d74277",
    ),
    (
        "GET",
        "/a&b/c?x=1&jwt=abc",
        "GET&/a%26b/c&x=1",
        "1c7a242dff07e32ca4c1685c0612718b5110276a3aa9a2f46a58d10fe007c9b3",
    ),
    (
        "GET",
        "/p?a=1&A=2&b=3&B=4",
        "GET&/p&A=2&B=4&a=1&b=3",
        "2df95513f39d00eefa1b1057a1f439f1434a6c148f20c95c974c343897d44653",
    ),
    (
        "GET",
        "/p?q=a+b&r=%2A~&s=",
        "GET&/p&q=a%20b&r=%2A~&s=",
        "77f568531840aeae81926f294ce8ed3449948063aea5a026d8fdd0b22d6567ac",
    ),
]

SPEC_BASE_PATH_VECTORS = [
    (
        "https://app.example.com/jira-connector",
        "GET",
        "https://app.example.com/jira-connector/issue?x=1",
        "GET&/issue&x=1",
        "694d5a0b2d58b9cc7358fe04261a4a5f730756f1d24922333290de60bfe5135a",
    ),
    (
        "https://app.example.com/confluence/",
        "GET",
        "https://app.example.com/confluence/macro/status?pageId=123&macroId=m1",
        "GET&/macro/status&macroId=m1&pageId=123",
        "ba8f9be32b78d6b52d5835e8371e35658751b8825e2f4041738ed4779b805dc6",
    ),
]


@pytest.mark.parametrize(("method", "url", "canonical", "qsh"), SPEC_VECTORS)
def test_spec_vectors(method: str, url: str, canonical: str, qsh: str) -> None:
    assert canonical_request(method, url, BASE) == canonical
    assert query_hash(method, url, BASE) == qsh
    # the same request given as an absolute URL on the baseUrl's origin
    assert query_hash(method, BASE + url, BASE) == qsh


@pytest.mark.parametrize(("base", "method", "url", "canonical", "qsh"), SPEC_BASE_PATH_VECTORS)
def test_spec_vectors_with_base_path(
    base: str, method: str, url: str, canonical: str, qsh: str
) -> None:
    assert canonical_request(method, url, base) == canonical
    assert query_hash(method, url, base) == qsh


@pytest.mark.parametrize(
    ("method", "url", "base", "canonical"),
    [
        ("get", "https://app.example.com/ctx", "https://app.example.com/ctx/", "GET&/&"),
        ("GET", "https://app.example.com/ctx/", "https://app.example.com/ctx", "GET&/&"),
        # the baseUrl path is taken off as text, as atlassian-jwt-js does: no segment boundary
        ("GET", "https://app.example.com/ctxa/b", "https://app.example.com/ctx", "GET&/a/b&"),
        ("GET", "https://app.example.com/ctxa/b", "https://app.example.com/ctx/", "GET&/a/b&"),
        ("GET", "https://app.example.com/ct/b", "https://app.example.com/ctx", "GET&/ct/b&"),
        # another origin keeps its whole path
        ("GET", "https://cdn.example.com/ctx/x", "https://app.example.com/ctx", "GET&/ctx/x&"),
        ("GET", "https://APP.example.com:443/ctx/x", "https://app.example.com/ctx", "GET&/x&"),
        ("GET", "/ctx/x?b=1#frag", "https://app.example.com/ctx", "GET&/x&b=1"),
        ("GET", "x/y", "", "GET&/x/y&"),
        ("GET", "", "", "GET&/&"),
        ("GET", "/p?a=2&a=10&a=1", "", "GET&/p&a=1,10,2"),
        ("GET", "/list?tag=zeta&tag=alpha", "", "GET&/list&tag=alpha,zeta"),
        ("GET", "/p?n&m=&jwt=1&jwt=2", "", "GET&/p&m=&n="),
        ("GET", "/p?%7E=a%2Fb&%C3%A9=%E2%82%AC", "", "GET&/p&%C3%A9=%E2%82%AC&~=a%2Fb"),
    ],
)
def test_canonical_request_details(method: str, url: str, base: str, canonical: str) -> None:
    assert canonical_request(method, url, base) == canonical


@pytest.mark.parametrize(
    ("base", "url", "relative"),
    [
        ("https://app.example.com", "https://app.example.com/a/b?z=1&y=2&y=0", "/a/b?z=1&y=2&y=0"),
        ("https://app.example.com/ctx/", "https://app.example.com/ctx/m?k=a b&k=a", "/m?k=a b&k=a"),
        (
            "https://app.example.com/ctx",
            "https://app.example.com/ctx/x/?q=%2A~+&jwt=t",
            "/x/?q=%2A~+",
        ),
        ("https://app.example.com/ctx", "https://app.example.com/ctx/a&b?A=1&a=2", "/a&b?A=1&a=2"),
    ],
)
def test_agrees_with_atlassian_jwt(base: str, url: str, relative: str) -> None:
    assert canonical_request("GET", url, base) == url_utils.canonicalize_request("GET", relative)
    assert query_hash("POST", url, base) == url_utils.hash_url("POST", relative)


@given(st.text(), st.text(), st.text())
def test_canonical_request_never_raises(method: str, url: str, base: str) -> None:
    assert canonical_request(method, url, base).startswith(method.upper() + "&")
    assert len(query_hash(method, url, base)) == 64


def test_canonical_request_survives_lone_surrogates_and_bad_hosts() -> None:
    assert canonical_request("GET", "/\ud800?\udfff=1", "https://[bad") == "GET&/\ud800&%ED%BF%BF=1"
    assert len(query_hash("GET", "https://[::1/x?%FF=%", "https://[::1")) == 64


# No ";" (urllib, under atlassian-jwt, drops an empty ";params") and no ":" (a first segment
# with a colon reads as a scheme there).
_SEGMENT = st.text(alphabet=st.sampled_from("abcXYZ019-._~!$&'()*+,=@%"), min_size=1, max_size=8)
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="#"),
    max_size=40,
)
# Raw query text, or encoded pairs from few names so that repeated names are common.
_QUERY = st.one_of(
    _TEXT,
    st.lists(st.tuples(st.sampled_from(["a", "A", "b", "~", "é", "a b", "jwt"]), _TEXT)).map(
        lambda pairs: "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    ),
)


@given(
    st.sampled_from(["GET", "post", "Put"]),
    st.lists(_SEGMENT, min_size=0, max_size=4),
    st.booleans(),
    _QUERY,
)
def test_agrees_with_atlassian_jwt_where_it_is_defined(
    method: str, segments: list[str], trailing_slash: bool, query: str
) -> None:
    # atlassian-jwt takes a URL already relative to the baseUrl, and strips every slash at
    # both ends of the path, where Connect drops one: so no doubled slash at the ends here.
    path = "/" + "/".join(segments) + ("/" if trailing_slash and segments else "")
    relative = f"{path}?{query}" if query else path
    expected = url_utils.canonicalize_request(method, relative)
    assert canonical_request(method, relative, "") == expected
    assert canonical_request(method, "https://app.example.com/ctx" + relative, BASE + "/ctx") == (
        expected
    )


# --- tokens ------------------------------------------------------------------------------


def header_of(token: str) -> dict[str, Any]:
    encoded = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def defects(token: str, method: str, url: str, secret: str | None, now: int) -> set[str]:
    """Every defect an app that validates Connect JWTs would find in `token`."""
    found = set()
    claims = claims_of(token)
    if header_of(token).get("alg") != "HS256":
        found.add("alg")
    elif secret is None:
        found.add("signature")  # nothing to verify against: the token cannot be the install's
    else:
        try:
            jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError:
            found.add("signature")
    if claims["exp"] <= now:
        found.add("expired")
    if claims["iat"] > now or claims.get("nbf", now) > now:
        found.add("future")
    if claims["iss"] != CLIENT_KEY:
        found.add("iss")
    if claims.get("qsh") != query_hash(method, url, BASE + "/ctx"):
        found.add("qsh")
    return found


URL = "https://app.example.com/ctx/board?project=TEST&issue=TEST-1"


def test_connect_token_claims() -> None:
    now = int(time.time())
    token = connect_token(
        method="get",
        url=URL,
        base_url=BASE + "/ctx",
        issuer=CLIENT_KEY,
        secret=SECRET,
        subject="account-1",
        now=now,
        extra_claims={"context": {"a": 1}},
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims == {
        "iss": CLIENT_KEY,
        "iat": now,
        "exp": now + 180,
        "qsh": query_hash("GET", "/board?issue=TEST-1&project=TEST", BASE),
        "sub": "account-1",
        "context": {"a": 1},
    }
    assert defects(token, "GET", URL, SECRET, now) == set()


def test_connect_token_qsh_options_and_algorithms() -> None:
    common: dict[str, Any] = {"method": "GET", "url": URL, "base_url": BASE, "issuer": "i"}
    assert "qsh" not in claims_of(connect_token(**common, secret=SECRET, qsh=None))
    assert (
        claims_of(connect_token(**common, secret=SECRET, qsh=CONTEXT_QSH))["qsh"] == "context-qsh"
    )
    assert header_of(connect_token(**common, secret=SECRET, alg="HS512"))["alg"] == "HS512"
    unsigned = connect_token(**common, secret=SECRET, alg="none")
    assert unsigned.endswith(".") and header_of(unsigned)["alg"] == "none"
    with pytest.raises(ValueError, match="RS256"):
        connect_token(**common, secret=SECRET, alg="RS256")


def test_sign_hs256_accepts_a_short_secret_without_warning() -> None:
    token = sign_hs256({"iss": "x"}, "short")
    assert header_of(token)["alg"] == "HS256"
    assert token.count(".") == 2 and not token.endswith(".")


def names(tokens: tuple[ForgedToken, ...]) -> list[str]:
    return [token.name for token in tokens]


def test_forged_tokens_with_secret_have_exactly_one_defect_each() -> None:
    now = int(time.time())
    tokens = forged_tokens("GET", URL, BASE + "/ctx", CLIENT_KEY, now, secret=SECRET)
    expected = {
        "wrong-signature": {"signature"},
        "alg-none": {"alg"},
        "expired": {"expired"},
        "issued-in-future": {"future"},
        "unknown-iss": {"iss"},
        "no-qsh": {"qsh"},
    }
    assert names(tokens) == list(expected)
    for token in tokens:
        assert defects(token.token, "GET", URL, SECRET, now) == expected[token.name], token.name
        assert token.defect.endswith(".") and token.defect.count(". ") == 0


def test_forged_tokens_without_secret() -> None:
    now = int(time.time())
    tokens = {t.name: t for t in forged_tokens("POST", URL, BASE + "/ctx", CLIENT_KEY, now)}
    assert list(tokens) == ["wrong-signature", "alg-none", "expired"]
    assert defects(tokens["wrong-signature"].token, "POST", URL, None, now) == {"signature"}
    assert defects(tokens["alg-none"].token, "POST", URL, None, now) == {"alg"}
    assert defects(tokens["expired"].token, "POST", URL, None, now) == {"signature", "expired"}
    assert "random secret" in tokens["expired"].defect


def test_forged_and_tampered_tokens_carry_the_given_subject() -> None:
    now = int(time.time())
    base = BASE + "/ctx"
    for secret in (SECRET, None):
        named = forged_tokens("GET", URL, base, CLIENT_KEY, now, secret, subject="admin-1")
        anonymous = forged_tokens("GET", URL, base, CLIENT_KEY, now, secret)
        assert [claims_of(t.token).get("sub") for t in named] == ["admin-1"] * len(named)
        assert [claims_of(t.token).get("sub") for t in anonymous] == [None] * len(anonymous)
    tampered = qsh_tampered_tokens("GET", URL, base, CLIENT_KEY, SECRET, now, subject="admin-1")
    for token in tampered:
        assert claims_of(token.token)["sub"] == "admin-1"
        assert defects(token.token, "GET", URL, SECRET, now) == {"qsh"}, token.name


def test_wrong_signature_differs_from_the_real_one() -> None:
    now = int(time.time())
    forged = forged_tokens("GET", URL, BASE, CLIENT_KEY, now, secret=SECRET)[0]
    real = connect_token(
        method="GET", url=URL, base_url=BASE, issuer=CLIENT_KEY, secret=SECRET, now=now
    )
    assert forged.token.rsplit(".", 1)[0] == real.rsplit(".", 1)[0]
    assert forged.token != real


def test_install_tokens() -> None:
    now = int(time.time())
    url = "https://app.example.com/ctx/lifecycle/added"
    tokens = {t.name: t for t in install_tokens(url, BASE + "/ctx", CLIENT_KEY, now)}
    assert list(tokens) == ["rs256-unknown-kid", "hs256-install", "alg-none"]
    expected_alg = {"rs256-unknown-kid": "RS256", "hs256-install": "HS256", "alg-none": "none"}
    for name, token in tokens.items():
        header, claims = header_of(token.token), claims_of(token.token)
        assert header["alg"] == expected_alg[name]
        assert header["kid"].startswith("connectguard-")
        assert claims["aud"] == BASE + "/ctx"
        assert claims["iss"] == CLIENT_KEY
        assert claims["qsh"] == query_hash("POST", "/lifecycle/added", BASE)
        assert claims["iat"] == now < claims["exp"]
    assert tokens["alg-none"].token.endswith(".")
    assert not tokens["rs256-unknown-kid"].token.endswith(".")


def test_with_the_installation_secret_hs256_is_the_install_tokens_one_defect() -> None:
    now = int(time.time())
    url = "https://app.example.com/ctx/lifecycle/removed"
    tokens = {t.name: t for t in install_tokens(url, BASE + "/ctx", CLIENT_KEY, now, SECRET)}
    hs256 = tokens["hs256-install"].token
    claims = jwt.decode(hs256, SECRET, algorithms=["HS256"], audience=BASE + "/ctx")
    assert claims["iss"] == CLIENT_KEY and "sharedSecret" in tokens["hs256-install"].defect
    without = {t.name: t for t in install_tokens(url, BASE + "/ctx", CLIENT_KEY, now)}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(without["hs256-install"].token, SECRET, algorithms=["HS256"], audience=BASE)


def test_qsh_tampered_tokens_are_valid_but_for_another_request() -> None:
    now = int(time.time())
    base = BASE + "/ctx"
    tokens = {t.name: t for t in qsh_tampered_tokens("GET", URL, base, CLIENT_KEY, SECRET, now)}
    assert list(tokens) == ["qsh-other-path", "qsh-other-query", "qsh-other-method", "context-qsh"]
    qsh = {
        name: jwt.decode(t.token, SECRET, algorithms=["HS256"])["qsh"] for name, t in tokens.items()
    }
    for name, token in tokens.items():
        assert defects(token.token, "GET", URL, SECRET, now) == {"qsh"}, name
    assert qsh["qsh-other-method"] == query_hash("POST", URL, base)
    assert qsh["context-qsh"] == "context-qsh"
    assert qsh["qsh-other-path"] == query_hash(
        "GET", "/board/connectguard-other?project=TEST&issue=TEST-1", BASE
    )
    assert qsh["qsh-other-query"] == query_hash(
        "GET", "/board?project=TEST&issue=TEST-1&connectguard=tampered", BASE
    )
    post = qsh_tampered_tokens("POST", URL, base, CLIENT_KEY, SECRET, now)[2]
    assert claims_of(post.token)["qsh"] == query_hash("GET", URL, base)


def test_install_payload() -> None:
    document = {"key": "my-app", "name": "n", "baseUrl": BASE, "modules": {"generalPages": []}}
    descriptor = parse_descriptor(json.dumps(document), BASE)
    payload = install_payload(descriptor, CLIENT_KEY, SECRET, "installed")
    assert payload["key"] == "my-app"
    assert payload["clientKey"] == CLIENT_KEY
    assert payload["sharedSecret"] == SECRET
    assert payload["eventType"] == "installed"
    assert payload["productType"] == "jira"
    assert payload["baseUrl"] == "https://connectguard-probe.atlassian.net"
    for field in ("publicKey", "serverVersion", "pluginsVersion", "description", "displayUrl"):
        assert payload[field]
    json.dumps(payload)

    document["modules"] = {"dynamicContentMacros": [{"key": "m", "url": "/m"}]}
    macro_app = parse_descriptor(json.dumps(document), BASE)
    payload = install_payload(macro_app, CLIENT_KEY, SECRET, "uninstalled")
    assert payload["productType"] == "confluence"
    assert payload["baseUrl"].endswith("/wiki")


@pytest.mark.parametrize("token", ["eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl", "abc", ""])
def test_shorten_never_shows_the_whole_token(token: str) -> None:
    short = shorten(token)
    assert str(len(token)) in short
    assert token not in short or token == ""
    assert short.startswith(token[: min(12, len(token) // 2)])
