"""`plan_transport`: which origins, hosts and app hosts the transport probe looks at."""

from __future__ import annotations

import json

from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.probes.domains import registrable_domain
from connectguard.probes.transport import plan_transport
from connectguard.probes.transport_evidence import OriginRole

TARGET = "https://app.example.com/atlassian-connect.json"


def test_every_origin_with_its_port_and_role() -> None:
    raw = {
        "key": "k",
        "name": "n",
        "baseUrl": "https://app.example.com:8443/connect",
        "links": {"homepage": "https://www.example.com/", "self": TARGET},
        "vendor": {"url": "http://vendor.example.org"},
        "modules": {
            "generalPages": [
                {"key": "p", "url": "/page", "icon": {"url": "https://cdn.example.com/i.png"}},
                {"key": "q", "url": "https://{tenant}.example.com/x"},
            ],
            "webItems": [{"key": "w", "url": "https://docs.partner.net/guide"}],
        },
    }
    descriptor = parse_descriptor(json.dumps(raw), TARGET)
    plan = plan_transport(TARGET, (TARGET,), descriptor, plan_endpoints(descriptor, TARGET))

    roles = {(host, port): role for host, port, role in plan.tls}
    assert roles == {
        ("app.example.com", 443): OriginRole.APP,
        ("app.example.com", 8443): OriginRole.APP,
        ("www.example.com", 443): OriginRole.VENDOR,
        ("cdn.example.com", 443): OriginRole.VENDOR,
        ("docs.partner.net", 443): OriginRole.EXTERNAL,
    }
    assert set(plan.hosts) == {
        "app.example.com", "www.example.com", "cdn.example.com", "vendor.example.org",
        "docs.partner.net",
    }  # fmt: skip
    assert plan.app_hosts == ("app.example.com",)
    assert plan.origins_of("app.example.com") == (
        "https://app.example.com",
        "https://app.example.com:8443",
    )


def test_ip_literal_app_has_no_dns_host() -> None:
    target = "https://127.0.0.1:8443/atlassian-connect.json"
    raw = {"key": "k", "name": "n", "baseUrl": "https://127.0.0.1:8443"}
    descriptor = parse_descriptor(json.dumps(raw), target)
    plan = plan_transport(target, (target,), descriptor, plan_endpoints(descriptor, target))
    assert plan.tls == (("127.0.0.1", 8443, OriginRole.APP),)
    assert plan.hosts == () and plan.app_hosts == ("127.0.0.1",)


def test_registrable_domains() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("APP.Example.com.") == "example.com"
    assert registrable_domain("vendor.herokuapp.com") == "vendor.herokuapp.com"
    assert registrable_domain("app.example.test") == "example.test"
    assert registrable_domain("127.0.0.1") is None
    assert registrable_domain("co.uk") is None
