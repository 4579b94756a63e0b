"""Integration: connectguard scans a real Connect app built on atlassian-connect-express (ACE).

The app in `ace/app/` runs on node over TLS on 127.0.0.1, with a certificate this test makes.
The test plays Atlassian: it serves the signed-install public key on a loopback key server
(ACE reads that server's address from its `CONNECT_KEYS_CDN_URL` setting) and installs the app
through ACE's own signed-install flow: an RS256 token with a `kid`, `aud` = the app's baseUrl and
the `qsh` of the install request. Every proxy variable of the node process points at a tripwire
on loopback, so an attempt to reach anything else would be seen. The scan gets that
installation's clientKey and sharedSecret, and its verdicts are compared with what ACE does:

- `addon.authenticate()` (module pages, webhooks) checks the signature, expiry and `qsh`;
- `addon.checkValidToken()` (the app's own API) is authenticate() without the `qsh` check, so
  context tokens (`qsh: "context-qsh"`) pass, and so does a token whose `qsh` is for another
  request;
- the signed-install hooks accept only RS256 tokens whose key the key server published;
- neither checks `iat` or `nbf`, so a token issued in the future passes (advice, not a failure);
- one page, `/open`, is deliberately served without authentication.

Two scans: the descriptor without `/open` (5, 9 and 13 pass), and ACE's own descriptor with
`/open` and `/api/issues` declared as the app's API (the failures sit exactly there).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectguard.fixture.pki import fixture_ca, leaf_certificate
from connectguard.model import Level, ScanResult, Verdict
from connectguard.scan import run_scan
from connectguard.settings import Credentials, Limits, ScanOptions

APP_DIR = Path(__file__).parent / "ace" / "app"
NODE = shutil.which("node")
NPM = shutil.which("npm")

# A product site on *.atlassian.net passes ACE's production registration whitelist, as the
# scanner's own forged install payloads do, so both reach ACE's token checks.
PRODUCT_BASE_URL = "https://connectguard-ace.atlassian.net"
INSTALL_KID = f"connectguard-ace-{uuid.uuid4()}"

NPM_TIMEOUT = 300.0
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
READY = re.compile(r"connectguard-ace-app ready (https://\S+)")
ANSWERED = re.compile(r"connectguard-ace-app answered (\S+) (\S+) (\d{3})")
MARKER = "/connectguard-ace-marker"

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="node and npm are not on PATH: the atlassian-connect-express app cannot run",
)


# --- the app -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AceApp:
    """The running app and its test installation."""

    base_url: str
    ca_file: str
    client_key: str
    shared_secret: str
    log: Path
    key_requests: list[str]
    off_loopback: list[bytes]

    def answers_since(self, offset: int) -> list[tuple[str, str, int]]:
        """(method, path, status) of every answer ACE logged after byte `offset` of its log."""
        text = self.log.read_bytes()[offset:].decode("utf-8", errors="replace")
        return [(m[1], m[2], int(m[3])) for m in ANSWERED.finditer(text)]


@pytest.fixture(scope="session")
def ace_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AceApp]:
    assert NODE is not None and NPM is not None
    _install_node_modules(NPM)
    work = tmp_path_factory.mktemp("ace")
    pki = _write_pki(work)
    install_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = install_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with (
        _key_server({INSTALL_KID: public_pem}, pki) as (key_url, key_requests),
        _tripwire_proxy() as (proxy_url, off_loopback),
    ):
        env = {
            "PATH": os.environ.get("PATH", ""),
            "NODE_ENV": "production",
            "AC_OPTS": "",
            "CG_TLS_CERT": pki.cert_file,
            "CG_TLS_KEY": pki.key_file,
            "CONNECT_KEYS_CDN_URL": key_url,
            "NODE_EXTRA_CA_CERTS": pki.ca_file,
            # Anything ACE sends off loopback (its fallback key server, a product, a tunnel)
            # goes to the tripwire instead, which records it and answers nothing.
            **{name: proxy_url for name in PROXY_VARIABLES},
            **{name: "127.0.0.1,localhost" for name in ("NO_PROXY", "no_proxy")},
        }
        log = work / "app.log"
        with _node_app(NODE, env, log, pki.ca_file) as base_url:
            client_key = f"connectguard-ace-{uuid.uuid4()}"
            shared_secret = secrets.token_urlsafe(32)
            status, body = _install(base_url, pki.ca_file, install_key, client_key, shared_secret)
            assert status == 204, f"ACE refused the signed install: {status} {body[:200]!r}"
            yield AceApp(
                base_url, pki.ca_file, client_key, shared_secret, log, key_requests, off_loopback
            )


def _install_node_modules(npm: str) -> None:
    """`npm ci` when node_modules is missing or older than the lockfile; one process at a time."""
    installed = APP_DIR / "node_modules" / ".package-lock.json"
    lock = APP_DIR / "package-lock.json"
    with open(APP_DIR / ".npm-install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
            return
        # --omit=optional leaves out ACE's optional tunnel (@ngrok/ngrok); no package needs an
        # install script, so none runs.
        command = [npm, "ci", "--no-audit", "--no-fund", "--omit=optional", "--ignore-scripts"]
        done = subprocess.run(
            command,
            cwd=APP_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@dataclass(frozen=True)
class Pki:
    """PEM files: the test CA, and a certificate for 127.0.0.1 with its key."""

    ca_file: str
    cert_file: str
    key_file: str


def _write_pki(work: Path) -> Pki:
    """The test CA and a certificate for 127.0.0.1, made with `cryptography`."""
    leaf = leaf_certificate("valid", None)
    files = {"ca.pem": fixture_ca().cert_pem, "cert.pem": leaf.cert_pem, "key.pem": leaf.key_pem}
    for name, data in files.items():
        (work / name).write_bytes(data)
    return Pki(str(work / "ca.pem"), str(work / "cert.pem"), str(work / "key.pem"))


@contextlib.contextmanager
def _key_server(keys: dict[str, bytes], pki: Pki) -> Iterator[tuple[str, list[str]]]:
    """Atlassian's install-key service on loopback: GET /<kid> answers the PEM public key.

    An unknown kid gets a 404 with a body; ACE reads that body as a key, fails to decode it and
    rejects the install (400) without trying its fallback server, which it does only when the
    fetch fails or the body is empty.
    """
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT

        def do_GET(self) -> None:
            kid = self.path.lstrip("/")
            requested.append(kid)
            key = keys.get(kid)
            status, body = (200, key) if key is not None else (404, b"no such key\n")
            self.send_response(status)
            self.send_header("Content-Type", "application/x-pem-file")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with _serving(server, "ace-key-server"):
        yield f"https://127.0.0.1:{server.server_address[1]}", requested


@contextlib.contextmanager
def _tripwire_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A proxy on loopback that records the first bytes of each request and answers nothing."""
    seen: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(2.0)
            with contextlib.suppress(OSError):
                seen.append(self.request.recv(512))

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with _serving(server, "ace-tripwire"):
        yield f"http://127.0.0.1:{server.server_address[1]}", seen


@contextlib.contextmanager
def _serving(server: socketserver.BaseServer, name: str) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=REQUEST_TIMEOUT)


@contextlib.contextmanager
def _node_app(node: str, env: dict[str, str], log: Path, ca_file: str) -> Iterator[str]:
    """Run app.js with node; yield its baseUrl once it answers; stop it by its pid."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [node, "app.js"], cwd=APP_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        base_url = _wait_until_ready(process, log)
        status, _ = _request("GET", f"{base_url}/atlassian-connect.json", ca_file)
        assert status == 200, f"the app's descriptor answered {status}"
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=REQUEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=REQUEST_TIMEOUT)


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = READY.search(text)
        if found:
            return found[1]
        if process.poll() is not None:
            pytest.fail(f"the ACE app exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"the ACE app did not start in {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def _install(
    base_url: str,
    ca_file: str,
    key: rsa.RSAPrivateKey,
    client_key: str,
    shared_secret: str,
) -> tuple[int, bytes]:
    """POST a signed install to /installed, as the product does."""
    now = int(time.time())
    claims = {
        "iss": client_key,
        "aud": base_url,
        "iat": now,
        "exp": now + 180,
        "qsh": _qsh("POST&/installed&"),
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": INSTALL_KID})
    payload = {
        "key": "connectguard-ace-test",
        "clientKey": client_key,
        "sharedSecret": shared_secret,
        "baseUrl": PRODUCT_BASE_URL,
        "displayUrl": PRODUCT_BASE_URL,
        "productType": "jira",
        "description": "connectguard's test site",
        "serverVersion": "100250",
        "pluginsVersion": "1001.0.0",
        "eventType": "installed",
    }
    return _request("POST", f"{base_url}/installed", ca_file, token, payload)


def _qsh(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def _request(
    method: str,
    url: str,
    ca_file: str,
    token: str | None = None,
    payload: dict[str, Any] | None = None,
) -> tuple[int, bytes]:
    headers = {"Accept": "*/*"}
    if token is not None:
        headers["Authorization"] = f"JWT {token}"
    data = None
    if payload is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(payload).encode()
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)),
    )
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def _token(app: AceApp, qsh: str, lifetime: int = 180) -> str:
    """A token as the product signs it for this installation, with the given `qsh`."""
    now = int(time.time())
    claims = {"iss": app.client_key, "iat": now, "exp": now + lifetime, "qsh": qsh}
    return jwt.encode(claims, app.shared_secret, algorithm="HS256")


# --- the scans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scanned:
    """A scan's result and what ACE answered to it: (method, path, status) per request."""

    result: ScanResult
    answers: list[tuple[str, str, int]]

    def findings(self, requirement: str, level: Level = Level.FAIL) -> dict[str, set[str]]:
        """The checks of `requirement`'s findings at `level`, by path."""
        by_path: dict[str, set[str]] = {}
        for finding in self.result.requirement(requirement).findings:
            if finding.level is level:
                by_path.setdefault(finding.path, set()).add(finding.check)
        return by_path

    def statuses(self, path: str) -> Counter[int]:
        return Counter(status for _, answered, status in self.answers if answered == path)


def _scan(app: AceApp, descriptor: str, api_routes: tuple[str, ...] = ()) -> Scanned:
    offset = _settle(app)
    options = ScanOptions(
        target=f"{app.base_url}{descriptor}",
        ca_file=app.ca_file,
        credentials=Credentials(app.client_key, app.shared_secret),
        allow_private=True,
        api_routes=api_routes,
        plain_http_port=_closed_port(),
        limits=Limits(scan_deadline=120.0),
    )
    result = run_scan(options)
    _settle(app)
    return Scanned(result, [a for a in app.answers_since(offset) if a[1] != MARKER])


def _settle(app: AceApp) -> int:
    """Wait until ACE has logged every answer it gave so far; return the log's size then.

    ACE logs an answer when it has handed it to the socket, which may be just after the client
    read it; a marker request, logged last, shows that every earlier answer is in the log.
    """
    before = len(app.answers_since(0))
    _request("GET", app.base_url + MARKER, app.ca_file)
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while time.monotonic() < deadline:
        answers = app.answers_since(0)
        if any(path == MARKER for _, path, _ in answers[before:]):
            return app.log.stat().st_size
        time.sleep(0.02)
    pytest.fail(f"ACE did not log the marker request in {REQUEST_TIMEOUT} s")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def protected_scan(ace_app: AceApp) -> Scanned:
    """The app as it would be with every page behind ACE's authentication."""
    return _scan(ace_app, "/atlassian-connect-protected.json")


@pytest.fixture(scope="session")
def full_scan(ace_app: AceApp) -> Scanned:
    """ACE's own descriptor, with the open page, and the app's API declared."""
    return _scan(ace_app, "/atlassian-connect.json", api_routes=("/api/issues",))


def _verdicts(scanned: Scanned) -> dict[str, Verdict]:
    return {n: scanned.result.requirement(n).verdict for n in ("5", "9", "13")}


def _explain(scanned: Scanned) -> str:
    lines = []
    for number in ("5", "9", "13"):
        result = scanned.result.requirement(number)
        lines.append(f"{number}: {result.verdict} ({result.reason})")
        lines += [f"  {f.level} {f.check} {f.method} {f.path}" for f in result.findings]
    paths = sorted({path for _, path, _ in scanned.answers})
    lines += [f"ACE answered {path}: {dict(scanned.statuses(path))}" for path in paths]
    return "\n".join(lines)


# --- tests -------------------------------------------------------------------------------

HOOKS = ("/installed", "/uninstalled")
TOKEN_ROUTES = ("/hello", "/webhooks/issue-created")


def test_the_install_went_through_aces_signed_install_flow(ace_app: AceApp) -> None:
    # ACE fetched the install key from the key server named in CONNECT_KEYS_CDN_URL.
    assert INSTALL_KID in ace_app.key_requests
    status, body = _request(
        "GET", f"{ace_app.base_url}/hello", ace_app.ca_file, _token(ace_app, _qsh("GET&/hello&"))
    )
    assert status == 200, body[:200]
    assert ace_app.client_key.encode() in body


def test_ace_checks_qsh_on_pages_and_skips_it_on_its_api(ace_app: AceApp) -> None:
    # What ACE does, from requests the test signs itself (independently of the scanner).
    def status(path: str, qsh: str, lifetime: int = 180) -> int:
        token = _token(ace_app, qsh, lifetime)
        return _request("GET", ace_app.base_url + path, ace_app.ca_file, token)[0]

    assert status("/hello", _qsh("GET&/hello&")) == 200
    assert status("/hello", "context-qsh") == 401
    assert status("/hello", _qsh("GET&/other&")) == 401
    assert status("/hello", _qsh("GET&/hello&"), lifetime=-60) == 401
    assert status("/api/issues", "context-qsh") == 200
    assert status("/api/issues", _qsh("GET&/other&")) == 200
    assert status("/api/issues", _qsh("GET&/api/issues&"), lifetime=-60) == 401


def test_scan_passes_an_app_whose_every_route_is_behind_ace(
    ace_app: AceApp, protected_scan: Scanned
) -> None:
    assert _verdicts(protected_scan) == {
        "5": Verdict.PASS,
        "9": Verdict.PASS,
        "13": Verdict.PASS,
    }, _explain(protected_scan)
    for path in (*TOKEN_ROUTES, *HOOKS):
        assert protected_scan.statuses(path), f"{path} was not probed\n{_explain(protected_scan)}"
    assert protected_scan.statuses("/open") == Counter(), "the protected descriptor has no /open"
    # ACE refused every forged install: 401 from its own checks, 400 when the RS256 token's kid
    # was unknown (it fetched that kid from the key server, got a 404 and could not decode it).
    for path in HOOKS:
        assert set(protected_scan.statuses(path)) <= {400, 401}, _explain(protected_scan)
    assert len(set(ace_app.key_requests) - {INSTALL_KID}) >= len(HOOKS), ace_app.key_requests


def test_scan_reports_aces_unchecked_iat_as_advice(protected_scan: Scanned) -> None:
    advice = protected_scan.findings("9", Level.ADVICE)
    assert advice == {path: {"accepted-issued-in-future"} for path in TOKEN_ROUTES}, _explain(
        protected_scan
    )
    for path in TOKEN_ROUTES:
        accepted = protected_scan.statuses(path)
        assert sum(n for status, n in accepted.items() if 200 <= status < 300) == 2, _explain(
            protected_scan
        )


def test_scan_fails_exactly_the_unprotected_page(full_scan: Scanned) -> None:
    assert _verdicts(full_scan) == {
        "5": Verdict.FAIL,
        "9": Verdict.FAIL,
        "13": Verdict.FAIL,
    }, _explain(full_scan)
    assert set(full_scan.findings("5")) == {"/open"}, _explain(full_scan)
    assert "no-token-accepted" in full_scan.findings("5")["/open"]
    assert set(full_scan.findings("9")) == {"/open"}, _explain(full_scan)
    assert set(full_scan.statuses("/open")) <= {200, 404}, _explain(full_scan)  # 404: POST
    for path in HOOKS:
        assert set(full_scan.statuses(path)) <= {400, 401}, _explain(full_scan)


def test_scan_allows_context_qsh_on_the_declared_api_route(full_scan: Scanned) -> None:
    # ACE's checkValidToken() skips qsh on the app's own API, where the iframe's context-qsh
    # tokens are legitimate: such a token binds no request, so a tampered qsh proves nothing
    # there and the scan does not hold it against the app. Only /open fails 13.
    qsh_failures = full_scan.findings("13")
    assert set(qsh_failures) == {"/open"}, _explain(full_scan)
    assert full_scan.statuses("/api/issues"), "the declared API route was not probed"
    # The API route's control token is a context-qsh token, and ACE accepts it.
    assert 200 in full_scan.statuses("/api/issues"), _explain(full_scan)


def test_ace_reached_nothing_off_loopback(
    ace_app: AceApp, protected_scan: Scanned, full_scan: Scanned
) -> None:
    # No fallback key server, product call, registration or tunnel: the tripwire saw nothing.
    assert ace_app.off_loopback == []
