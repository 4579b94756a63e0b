"""Authentication probes against fixture apps on 127.0.0.1: which tokens each endpoint is sent,
with which methods, and what an app that checks them answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from connectguard.connect.endpoints import plan_endpoints
from connectguard.fixture import serve_case
from connectguard.fixture.options import scan_options
from connectguard.model import Verdict
from connectguard.net.http import HttpClient
from connectguard.probes.endpoints import NO_ADMIN_ACCOUNT_NOTE, Signer, probe_endpoint
from connectguard.probes.evidence import EndpointEvidence
from connectguard.scan import fetch_descriptor, run_scan
from connectguard.settings import Limits

ADMIN = "admin-account-0001"
USER = "user-account-0002"
PAGE = "<!DOCTYPE html><html><body><p>content</p></body></html>"


def _case(routes: list[dict[str, Any]], modules: dict[str, Any], **scan: Any) -> dict[str, Any]:
    return {
        "id": "endpoint-probes",
        "title": "endpoint probes",
        "app": {
            "descriptor": {
                "key": "probes",
                "name": "Probes",
                "baseUrl": "{base}",
                "modules": modules,
            },
            "routes": routes,
        },
        "install": {"clientKey": "client-1", "sharedSecret": "s" * 48, "admins": [ADMIN]},
        "scan": {"credentials": True, "user_account": USER, **scan},
        "expect": {},
    }


def probe(case: dict[str, Any], path: str) -> EndpointEvidence:
    """Probe the endpoint at `path` the way a scan of the served case would."""
    with serve_case(case) as served:
        options = scan_options(served)

        async def main() -> EndpointEvidence:
            async with HttpClient(Limits(), ca_file=served.ca_file, allow_private=True) as client:
                chain, descriptor = await fetch_descriptor(client, options)
                plan = plan_endpoints(descriptor, chain[-1].url)
                endpoint = next(e for e in plan.endpoints if e.url.endswith(path))
                signer = Signer(
                    base_url=descriptor.base_url,
                    now=int(time.time()),
                    client_key=served.client_key,
                    shared_secret=served.shared_secret,
                    user_account=served.user_account,
                    admin_account=served.admin_account,
                )
                return await probe_endpoint(client, endpoint, descriptor, signer)

        return asyncio.run(main())


def statuses(item: EndpointEvidence) -> dict[tuple[str, str], int | None]:
    return {(e.token, e.method): e.status for e in item.exchanges}


def _admin_case(auth: str, **scan: Any) -> dict[str, Any]:
    route = {
        "path": "/admin",
        "auth": auth,
        "admin_only": True,
        "ok": {"status": 200, "body": PAGE},
    }
    modules = {"adminPages": [{"key": "adm", "url": "/admin"}]}
    return _case([route], modules, **scan)


def test_forged_tokens_on_an_admin_page_name_the_admin_account() -> None:
    # The app checks the user is an admin and accepts alg:none: only a forged token that names
    # the admin reaches that defect.
    answers = statuses(probe(_admin_case("jwt-accept-none", admin_account=ADMIN), "/admin"))
    assert answers[("valid", "GET")] == 200
    assert answers[("alg-none", "GET")] == 200
    assert answers[("wrong-signature", "GET")] == 401
    assert answers[("non-admin-user", "GET")] == 403
    assert answers[("non-admin-user", "POST")] == 405


def test_qsh_tampered_tokens_on_an_admin_page_name_the_admin_account() -> None:
    answers = statuses(probe(_admin_case("jwt-ignore-qsh", admin_account=ADMIN), "/admin"))
    for name in ("qsh-other-path", "qsh-other-query", "qsh-other-method", "context-qsh"):
        assert answers[(name, "GET")] == 200, name


def test_admin_page_without_an_admin_account_gets_no_valid_token() -> None:
    item = probe(_admin_case("jwt-accept-none"), "/admin")
    assert NO_ADMIN_ACCOUNT_NOTE in item.skipped
    assert not item.by_token("valid")
    assert not item.by_token("qsh-other-path")
    # No admin to name, so the app's "not an admin" answer hides the alg:none defect.
    assert statuses(item)[("alg-none", "GET")] == 403


def test_valid_token_goes_with_each_method_and_qsh_uses_an_accepted_one() -> None:
    route = {
        "path": "/export",
        "methods": ["POST"],
        "auth": "jwt",
        "ok": {"status": 200, "json": {}},
    }
    item = probe(_case([route], {"generalPages": [{"key": "e", "url": "/export"}]}), "/export")
    answers = statuses(item)
    assert (answers[("valid", "GET")], answers[("valid", "POST")]) == (405, 200)
    tampered = [e for e in item.exchanges if e.token.startswith("qsh-") or e.token == "context-qsh"]
    assert len(tampered) == 4
    assert {e.method for e in tampered} == {"POST"}
    assert {e.status for e in tampered} == {401}


def test_a_module_entry_of_an_odd_shape_is_skipped_with_a_note_not_a_failed_scan() -> None:
    route = {"path": "/a", "auth": "jwt", "ok": {"status": 200, "body": PAGE}}
    case = _case([route], {"generalPages": [[{"key": "a", "url": "/a"}], 3]})
    with serve_case(case) as served:
        result = run_scan(scan_options(served))
    assert result.requirement("5").verdict is Verdict.PASS
    assert any('"modules.generalPages"' in note and "skipped" in note for note in result.notes)
