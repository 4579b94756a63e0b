"""Authenticated probing beyond the labelled cases: declared API routes, a user's own JWT, the
install-hijack probe and rate limiting, each against a real app served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import jwt
import pytest
from aiohttp import web

from connectguard.cli import check_user_jwt
from connectguard.connect.tokens import query_hash
from connectguard.errors import InputError
from connectguard.fixture import serve_case
from connectguard.fixture.options import scan_options
from connectguard.model import Verdict
from connectguard.scan import run_scan
from connectguard.settings import Credentials, ScanOptions

SECURE = {
    "Strict-Transport-Security": ["max-age=31536000"],
    "Cache-Control": ["no-cache, no-store"],
    "Referrer-Policy": ["no-referrer"],
}


def _context_case() -> dict[str, Any]:
    return {
        "id": "api-route",
        "title": "a page and an API route that accepts context tokens",
        "app": {
            "descriptor": {
                "key": "api-route",
                "name": "API route app",
                "baseUrl": "{base}",
                "modules": {"generalPages": [{"key": "p", "url": "/page"}]},
            },
            "default_headers": SECURE,
            "routes": [
                {"path": "/page", "auth": "jwt", "ok": {"status": 200, "body": "<p>page</p>"}},
                {"path": "/api/items", "auth": "jwt-context", "ok": {"status": 200, "json": {}}},
            ],
        },
        "install": {"clientKey": "api-client", "sharedSecret": "k" * 48, "admins": []},
        "scan": {"credentials": True},
        "expect": {},
    }


def test_context_qsh_is_correct_on_a_declared_api_route() -> None:
    with serve_case(_context_case()) as served:
        options = replace(scan_options(served), api_routes=("/api/items",))
        result = run_scan(options)
    assert result.requirement("13").verdict is Verdict.PASS
    assert result.requirement("5").verdict is Verdict.PASS


def test_context_qsh_on_a_module_page_fails_13() -> None:
    case = _context_case()
    case["app"]["routes"][0]["auth"] = "jwt-context"
    with serve_case(case) as served:
        result = run_scan(scan_options(served))
    assert result.requirement("13").verdict is Verdict.FAIL
    assert {f.check for f in result.requirement("13").findings} == {"accepted-context-qsh"}


def _admin_case() -> dict[str, Any]:
    case = _context_case()
    case["app"]["descriptor"]["modules"]["adminPages"] = [{"key": "a", "url": "/admin"}]
    case["app"]["routes"].append(
        {"path": "/admin", "auth": "jwt-ignore-qsh", "ok": {"status": 200, "body": "<p>admin</p>"}}
    )
    case["install"]["admins"] = ["admin-1"]
    return case


def _user_token(sub: str, exp_in: int = 120) -> str:
    now = int(time.time())
    claims = {"iss": "api-client", "sub": sub, "iat": now, "exp": now + exp_in, "qsh": "x" * 64}
    return jwt.encode(claims, "k" * 48, algorithm="HS256")


def test_a_given_user_jwt_probes_admin_authorization() -> None:
    with serve_case(_admin_case()) as served:
        options = replace(scan_options(served), user_jwt=_user_token("plain-user"))
        result = run_scan(options)
    failing = [f for f in result.requirement("5").findings if f.check == "admin-page-open-to-user"]
    assert [f.path for f in failing] == ["/admin"]


def test_user_jwt_shape_and_expiry_are_checked_first() -> None:
    token = _user_token("u")
    assert check_user_jwt(token) == token
    with pytest.raises(InputError, match="not a JWT"):
        check_user_jwt("not-a-token")
    with pytest.raises(InputError, match="expired"):
        check_user_jwt(_user_token("u", exp_in=-60))


# --- an app that keeps the tenants its (unverified) install hook registers -----------------


class TenantApp:
    """A Connect app whose /installed registers any payload, and whose /page verifies JWTs
    against the registered tenants: the shape of a real app with an unsigned install hook."""

    def __init__(self) -> None:
        self.tenants: dict[str, str] = {}
        self.removed: list[str] = []
        self.base = ""

    def routes(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/atlassian-connect.json", self.descriptor)
        app.router.add_post("/installed", self.installed)
        app.router.add_post("/uninstalled", self.uninstalled)
        app.router.add_route("*", "/page", self.page)
        return app

    async def descriptor(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "key": "tenant-app",
                "name": "Tenant app",
                "baseUrl": self.base,
                "lifecycle": {"installed": "/installed", "uninstalled": "/uninstalled"},
                "modules": {"generalPages": [{"key": "p", "url": "/page"}]},
            }
        )

    async def installed(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.tenants[body["clientKey"]] = body["sharedSecret"]
        return web.Response(status=204)

    async def uninstalled(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.tenants.pop(body["clientKey"], None) is not None:
            self.removed.append(body["clientKey"])
        return web.Response(status=204)

    async def page(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("JWT ")
        try:
            issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
            claims = jwt.decode(token, self.tenants[issuer], algorithms=["HS256"])
        except (jwt.InvalidTokenError, KeyError):
            return web.Response(status=401)
        if claims.get("qsh") != query_hash(request.method, str(request.url), self.base):
            return web.Response(status=401)
        return web.Response(text="<p>tenant data</p>", content_type="text/html")


@contextmanager
def serve(app: web.Application) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_probe_install_uses_the_hijacked_tenant_and_removes_it() -> None:
    tenant_app = TenantApp()
    with serve(tenant_app.routes()) as port:
        tenant_app.base = f"http://127.0.0.1:{port}"
        options = ScanOptions(
            target=f"{tenant_app.base}/atlassian-connect.json",
            allow_private=True,
            probe_install=True,
        )
        result = run_scan(options)
    assert result.requirement("5").verdict is Verdict.FAIL
    # With the registered tenant the scan could sign valid tokens: qsh was really probed.
    assert result.requirement("13").verdict is Verdict.PASS
    assert result.requirement("9").verdict is Verdict.FAIL  # the install hook took forged tokens
    assert any("registered the throw-away tenant" in n for n in result.notes)
    assert tenant_app.tenants == {}, "every throw-away tenant must be uninstalled again"
    assert any("was removed again" in n for n in result.notes)


def test_without_probe_install_the_tenants_are_still_removed() -> None:
    tenant_app = TenantApp()
    with serve(tenant_app.routes()) as port:
        tenant_app.base = f"http://127.0.0.1:{port}"
        result = run_scan(
            ScanOptions(target=f"{tenant_app.base}/atlassian-connect.json", allow_private=True)
        )
    assert result.requirement("13").verdict is Verdict.NOT_TESTED
    assert tenant_app.tenants == {} and tenant_app.removed


# --- rate limiting ------------------------------------------------------------------------


def _limited_app(limit_first: int) -> tuple[web.Application, list[int]]:
    seen = [0]

    async def descriptor(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.json_response(
            {
                "key": "rl",
                "name": "RL",
                "baseUrl": base,
                "modules": {"generalPages": [{"key": "p", "url": "/page"}]},
            }
        )

    async def page(request: web.Request) -> web.Response:
        seen[0] += 1
        if seen[0] <= limit_first:
            return web.Response(status=429, headers={"Retry-After": "0"})
        return web.Response(status=401)

    app = web.Application()
    app.router.add_get("/atlassian-connect.json", descriptor)
    app.router.add_route("*", "/page", page)
    return app, seen


def test_rate_limited_requests_are_retried() -> None:
    app, _ = _limited_app(limit_first=3)
    with serve(app) as port:
        options = ScanOptions(
            target=f"http://127.0.0.1:{port}/atlassian-connect.json", allow_private=True
        )
        result = run_scan(options)
    assert result.requirement("5").verdict is Verdict.PASS


def test_an_app_that_always_rate_limits_is_inconclusive() -> None:
    app, _ = _limited_app(limit_first=10_000)
    with serve(app) as port:
        options = ScanOptions(
            target=f"http://127.0.0.1:{port}/atlassian-connect.json",
            allow_private=True,
            credentials=None,
        )
        result = run_scan(options)
    five = result.requirement("5")
    assert five.verdict is Verdict.INCONCLUSIVE and "rate-limited" in five.reason


def test_credentials_never_appear_in_the_report() -> None:
    case = _context_case()
    with serve_case(case) as served:
        result = run_scan(
            replace(scan_options(served), credentials=Credentials("api-client", "k" * 48))
        )
    from connectguard.report.json_report import render_json

    assert "k" * 48 not in render_json(result)
    assert "k" * 48 not in json.dumps([repr(f) for f in result.findings()])


def test_a_refused_user_jwt_proves_no_authorization() -> None:
    case = _admin_case()
    case["app"]["routes"][-1].update(auth="jwt", admin_only=True)  # checks qsh, then the user
    with serve_case(case) as served:
        options = replace(scan_options(served), user_jwt=_user_token("plain-user"))
        result = run_scan(options)
    five = result.requirement("5")
    assert not [f for f in five.findings if f.check == "admin-page-open-to-user"]
    assert any("--user-jwt token was refused" in note for note in five.notes), five.notes
