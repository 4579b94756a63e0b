"""Endpoint roles, admin and cacheable flags, external URLs and hosts, on real case descriptors."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from connectguard.connect.descriptor import Descriptor, parse_descriptor
from connectguard.connect.endpoints import (
    Endpoint,
    EndpointPlan,
    Role,
    plan_endpoints,
    requires_admin,
)

CASES = Path("/work/shared/cases")
BASE = "https://app.example.test"
DESCRIPTOR_URL = f"{BASE}/atlassian-connect.json"


def case_descriptor(case_id: str) -> Descriptor:
    """The case's descriptor with {base} and {origin:NAME} filled as the fixture would."""
    case = json.loads((CASES / f"{case_id}.json").read_text())
    text = json.dumps(case["app"]["descriptor"]).replace("{base}", BASE)
    text = re.sub(r"\{origin:([^}]+)\}", r"https://\1.example.test", text)
    return parse_descriptor(text, DESCRIPTOR_URL)


def case_plan(case_id: str) -> EndpointPlan:
    return plan_endpoints(case_descriptor(case_id), DESCRIPTOR_URL)


def by_path(plan: EndpointPlan) -> dict[str, Endpoint]:
    return {endpoint.template.split("?")[0]: endpoint for endpoint in plan.endpoints}


def make(modules: dict[str, Any], **extra: Any) -> Descriptor:
    document = {"key": "k", "name": "n", "baseUrl": BASE, "modules": modules, **extra}
    return parse_descriptor(json.dumps(document), DESCRIPTOR_URL)


@pytest.mark.parametrize("case_id", sorted(path.stem for path in CASES.glob("*.json")))
def test_every_case_descriptor_plans(case_id: str) -> None:
    plan = case_plan(case_id)
    assert plan.endpoints
    assert plan.dropped == 0
    assert plan.hosts[0] == "app.example.test"
    assert all(endpoint.url.startswith("https://") for endpoint in plan.endpoints)
    assert not any("{" in endpoint.url for endpoint in plan.endpoints)


def test_admin_pages_by_module_type() -> None:
    pages = by_path(case_plan("admin-page-missing-authorization"))
    assert pages["/config"].admin and pages["/config"].module_type == "adminPages"
    assert pages["/configure"].admin and pages["/configure"].module_key == "configure"
    assert not pages["/home"].admin
    assert {pages[path].role for path in ("/config", "/configure", "/home")} == {Role.PAGE}


def test_post_install_page_is_a_page_not_admin() -> None:
    pages = by_path(case_plan("post-install-page-unauthenticated"))
    setup = pages["/setup"]
    assert (setup.role, setup.module_type, setup.admin) == (Role.PAGE, "postInstallPage", False)
    assert pages["/background/sync"].role is Role.PAGE


def test_lifecycle_hooks_on_custom_paths() -> None:
    plan = case_plan("lifecycle-hook-custom-path-unsigned")
    hooks = {e.lifecycle_event: e for e in plan.endpoints if e.role is Role.LIFECYCLE}
    assert hooks["installed"].url == f"{BASE}/lifecycle/added"
    assert hooks["uninstalled"].url == f"{BASE}/lifecycle/removed"
    assert hooks["installed"].module_type is None
    assert plan.endpoints[:2] == (hooks["installed"], hooks["uninstalled"])


def test_cacheable_module() -> None:
    pages = by_path(case_plan("cacheable-macro-referrer-unsafe"))
    assert pages["/macro"].cacheable and pages["/macro"].module_type == "dynamicContentMacros"
    assert not pages["/settings"].cacheable


def test_external_web_links() -> None:
    plan = case_plan("external-weblinks-not-probed")
    external = {e.url for e in plan.endpoints if e.external}
    assert external == {"https://helpdesk.example.test/portal/1", "https://docs.example.test/guide"}
    assert [e.url for e in plan.in_scope if e.role is Role.PAGE] == [f"{BASE}/board?project=TEST"]
    assert plan.app_origins == (BASE,)
    assert plan.hosts == ("app.example.test", "helpdesk.example.test", "docs.example.test")
    assert by_path(plan)["https://docs.example.test/guide"].origin == "https://docs.example.test"


def test_webhooks_and_enabled_hook() -> None:
    plan = case_plan("compliant-jira-app")
    roles = {(e.template, e.role) for e in plan.endpoints}
    assert ("/hooks/issue-created", Role.WEBHOOK) in roles
    assert ("/enabled", Role.LIFECYCLE) in roles
    assert by_path(plan)["/admin/settings"].admin


def test_base_url_path_is_kept_when_joining() -> None:
    pages = by_path(case_plan("compliant-confluence-macro-app"))
    status = pages["/macro/status"]
    assert status.url == f"{BASE}/confluence/macro/status?pageId=123456&macroId=m1"
    assert status.template == "/macro/status?pageId={page.id}&macroId={macro.id}"
    assert pages["/installed"].url == f"{BASE}/confluence/installed"


def test_base_url_on_another_origin_is_an_app_origin() -> None:
    # In this case the descriptor is served on the main origin and baseUrl names another one.
    descriptor_url = "https://127.0.0.1:8443/atlassian-connect.json"
    plan = plan_endpoints(case_descriptor("hsts-missing-on-baseurl-origin"), descriptor_url)
    assert plan.app_origins == ("https://127.0.0.1:8443", BASE)
    assert plan.hosts == ("127.0.0.1", "app.example.test")
    assert plan.endpoints and not any(endpoint.external for endpoint in plan.endpoints)


def test_descriptor_and_base_url_origins_both_count() -> None:
    descriptor = make(
        {"generalPages": [{"key": "a", "url": "/a"}]}, baseUrl="https://svc.example.test"
    )
    plan = plan_endpoints(descriptor, "https://cdn.example.test/atlassian-connect.json")
    assert plan.app_origins == ("https://cdn.example.test", "https://svc.example.test")
    assert plan.hosts == ("cdn.example.test", "svc.example.test")
    assert plan.endpoints[0].url == "https://svc.example.test/a"
    assert not plan.endpoints[0].external


def test_plain_http_urls() -> None:
    descriptor = make(
        {"webItems": [{"key": "w", "url": "http://legacy.example.test/x"}]},
        baseUrl="http://app.example.test:8080",
        links={"homepage": "https://www.example.test/", "self": "HTTP://upper.example.test/"},
    )
    plan = plan_endpoints(descriptor, "https://app.example.test/atlassian-connect.json")
    assert plan.plain_http_urls == (
        "http://app.example.test:8080",
        "http://legacy.example.test/x",
        "HTTP://upper.example.test/",
    )
    assert plan.app_origins == ("https://app.example.test", "http://app.example.test:8080")


def test_hosts_include_urls_outside_url_fields() -> None:
    descriptor = make(
        {
            "generalPages": [
                {"key": "p", "url": "/p", "icon": {"url": "https://icons.example.test/i.png"}}
            ],
            "dynamicContentMacros": [
                {
                    "key": "m",
                    "url": "/m",
                    "imagePlaceholder": {"url": "/placeholder.png"},
                    "documentation": {"url": "https://help.example.test/m"},
                }
            ],
            "autoconvert": [{"matchers": [{"pattern": "https://*.maps.example.test/{}"}]}],
        },
        vendor={"name": "V", "url": "https://vendor.example.test"},
        links={"homepage": "https://home.example.test/path"},
    )
    plan = plan_endpoints(descriptor, DESCRIPTOR_URL)
    assert [e.url for e in plan.endpoints] == [f"{BASE}/p", f"{BASE}/m"]
    assert plan.hosts == (
        "app.example.test",
        "icons.example.test",
        "help.example.test",
        "vendor.example.test",
        "home.example.test",
    )


def test_url_fields_at_any_depth_and_webhook_like_callbacks() -> None:
    descriptor = make(
        {
            "dynamicContentMacros": [
                {
                    "key": "m",
                    "url": "/render",
                    "editor": {"url": "/editor"},
                    "renderModes": {"default": {"url": "/static"}},
                }
            ],
            "jiraWorkflowPostFunctions": [
                {"key": "f", "view": {"url": "/view"}, "triggered": {"url": "/triggered"}}
            ],
            "webhooks": [{"event": "jira:issue_created", "url": "/hook?issue={issue.key}"}],
        }
    )
    roles = [
        (e.url.removeprefix(BASE), e.role)
        for e in plan_endpoints(descriptor, DESCRIPTOR_URL).endpoints
    ]
    assert roles == [
        ("/render", Role.PAGE),
        ("/editor", Role.PAGE),
        ("/static", Role.PAGE),
        ("/view", Role.PAGE),
        ("/triggered", Role.WEBHOOK),
        ("/hook?issue=TEST-1", Role.WEBHOOK),
    ]


def test_roles_come_from_place_not_words() -> None:
    descriptor = make(
        {"generalPages": [{"key": "admin", "url": "/admin/installed?webhook=1"}]},
        lifecycle={"installed": "/setup/page"},
    )
    endpoints = plan_endpoints(descriptor, DESCRIPTOR_URL).endpoints
    assert [(e.template, e.role, e.admin) for e in endpoints] == [
        ("/setup/page", Role.LIFECYCLE, False),
        ("/admin/installed?webhook=1", Role.PAGE, False),
    ]


def test_product_links_page_keys_and_non_http_urls_are_not_endpoints() -> None:
    descriptor = make(
        {
            "webItems": [
                {"key": "a", "context": "product", "url": "/browse/TEST-1"},
                {"key": "b", "context": "product", "url": "https://other.example.test/x"},
                {"key": "c", "url": "mailto:help@example.test"},
                {"key": "d", "context": "addon", "url": "/in-app"},
                {"key": "e", "context": "page", "url": "team-board"},  # a page module's key
            ]
        }
    )
    urls = [e.url for e in plan_endpoints(descriptor, DESCRIPTOR_URL).endpoints]
    assert urls == ["https://other.example.test/x", f"{BASE}/in-app"]


def test_deduplication_keeps_flags_only_when_all_agree() -> None:
    descriptor = make(
        {
            "adminPages": [{"key": "a", "url": "/shared"}],
            "generalPages": [{"key": "g", "url": "/shared"}, {"key": "h", "url": "/hooked"}],
            "dynamicContentMacros": [
                {"key": "m", "url": "/macro", "cacheable": True},
                {"key": "n", "url": "/macro", "cacheable": True},
            ],
            "webhooks": [{"event": "e", "url": "/hooked"}],
        }
    )
    endpoints = plan_endpoints(descriptor, DESCRIPTOR_URL).endpoints
    summary = [(e.template, e.role, e.module_key, e.admin, e.cacheable) for e in endpoints]
    assert summary == [
        ("/shared", Role.PAGE, "a", False, False),
        ("/hooked", Role.PAGE, "h", False, False),
        ("/macro", Role.PAGE, "m", False, True),
        ("/hooked", Role.WEBHOOK, "e", False, False),  # a webhook is named by its event
    ]


def test_max_endpoints() -> None:
    pages = [{"key": f"p{i}", "url": f"/p{i}"} for i in range(10)]
    plan = plan_endpoints(make({"generalPages": pages}), DESCRIPTOR_URL, max_endpoints=3)
    assert [e.template for e in plan.endpoints] == ["/p0", "/p1", "/p2"]
    assert plan.dropped == 7


ADMIN = {"condition": "user_is_admin"}
SYSADMIN = {"condition": "user_is_sysadmin"}
LOGGED_IN = {"condition": "user_is_logged_in"}


@pytest.mark.parametrize(
    ("conditions", "admin"),
    [
        (None, False),
        ([], False),
        ([ADMIN], True),
        ([SYSADMIN], True),
        ([LOGGED_IN], False),
        ([LOGGED_IN, ADMIN], True),
        ([{**ADMIN, "invert": True}], False),
        ([{**ADMIN, "invert": False}], True),
        ([{"and": [LOGGED_IN, ADMIN]}], True),
        ([{"and": [LOGGED_IN]}], False),
        ([{"or": [ADMIN, SYSADMIN]}], True),
        ([{"or": [ADMIN, LOGGED_IN]}], False),
        ([{"or": []}], False),
        ([{"or": [{"and": [ADMIN, LOGGED_IN]}, SYSADMIN]}], True),
        ([{"or": [{"and": [{**ADMIN, "invert": True}]}, SYSADMIN]}], False),
        ([{"and": [ADMIN], "invert": True}], False),
        ("user_is_admin", False),
        # invert flips the polarity; under it, and/or swap roles (De Morgan)
        ([{"invert": True, "or": [{**ADMIN, "invert": True}]}], True),
        ([{"invert": "true", "and": [{**ADMIN, "invert": True}, LOGGED_IN]}], False),
        ([{"invert": True, "or": [{**ADMIN, "invert": True}, LOGGED_IN]}], True),
        (
            [{"invert": True, "and": [{**ADMIN, "invert": True}, {**SYSADMIN, "invert": True}]}],
            True,
        ),
        ([{"invert": True, "or": [ADMIN]}], False),
        ([{"invert": True, "or": [{"invert": True, "or": [ADMIN]}]}], True),
        ([{"invert": True, "or": [{"invert": True, "or": [ADMIN, LOGGED_IN]}]}], False),
        ([{**LOGGED_IN, "invert": True}], False),
        ([{"invert": True, "or": []}], False),
        ([{"invert": True, "and": []}], False),
    ],
)
def test_conditions_requiring_admin(conditions: Any, admin: bool) -> None:
    assert requires_admin(conditions) is admin
    entry: dict[str, Any] = {"key": "p", "url": "/p"}
    if conditions is not None:
        entry["conditions"] = conditions
    plan = plan_endpoints(make({"generalPages": [entry]}), DESCRIPTOR_URL)
    assert plan.endpoints[0].admin is admin


def test_nested_lists_of_module_entries_are_planned() -> None:
    modules = {"generalPages": [[{"key": "a", "url": "/a"}], [{"key": "b", "url": "/b"}, 7]]}
    plan = plan_endpoints(make(modules), DESCRIPTOR_URL)
    assert [(e.template, e.module_key) for e in plan.endpoints] == [("/a", "a"), ("/b", "b")]


def test_deep_nesting_cannot_crash_and_stays_fast() -> None:
    deep: Any = {"url": "/deep"}
    conditions: Any = ADMIN
    for _ in range(100_000):
        deep = {"nest": [deep]}
        conditions = {"and": [conditions]}
    entry = {"key": "p", "url": "/p", "conditions": [conditions], "target": deep}
    descriptor = Descriptor("k", "n", BASE, "jwt", {}, {}, {"modules": {"generalPages": entry}})
    started = time.perf_counter()
    plan = plan_endpoints(descriptor, DESCRIPTOR_URL)
    assert time.perf_counter() - started < 5
    assert [(e.template, e.admin) for e in plan.endpoints] == [("/p", False), ("/deep", False)]


def test_only_a_cacheable_modules_own_url_is_a_cacheable_shell() -> None:
    descriptor = make(
        {
            "dynamicContentMacros": [
                {
                    "key": "status",
                    "url": "/macro/status",
                    "cacheable": True,
                    "editor": {"url": "/macro/status/editor"},
                    "renderModes": {"pdf": {"url": "/macro/status/pdf"}},
                }
            ]
        }
    )
    shells = {e.template: e.cacheable for e in plan_endpoints(descriptor, DESCRIPTOR_URL).endpoints}
    assert shells == {
        "/macro/status": True,
        "/macro/status/editor": False,
        "/macro/status/pdf": False,
    }


def test_lifecycle_events_sharing_a_url_stay_one_endpoint_each() -> None:
    descriptor = make({}, lifecycle={"enabled": "/lifecycle", "installed": "/lifecycle"})
    events = [
        (e.template, e.lifecycle_event)
        for e in plan_endpoints(descriptor, DESCRIPTOR_URL).endpoints
    ]
    assert sorted(events) == [("/lifecycle", "enabled"), ("/lifecycle", "installed")]
