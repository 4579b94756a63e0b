"""A URL urllib cannot take apart is left out of the plan instead of ending the scan."""

from __future__ import annotations

import json

from connectguard.checks.transport import check_plain_http
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange
from connectguard.probes.evidence import Evidence

URL = "https://app.example.test/atlassian-connect.json"


def test_unreadable_absolute_urls_are_left_out() -> None:
    raw = {
        "key": "k",
        "name": "n",
        "baseUrl": "https://app.example.test",
        "links": {"self": "http://[bad/x", "homepage": "http://docs.example.test:notaport/"},
        "modules": {"webItems": [{"key": "w", "url": "http://help.example.test/faq"}]},
    }
    descriptor = parse_descriptor(json.dumps(raw), URL)
    plan = plan_endpoints(descriptor, URL)
    assert plan.plain_http_urls == ("http://help.example.test/faq",)
    assert "help.example.test" in plan.hosts

    evidence = Evidence(
        target=URL,
        scan_time=0,
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan,
    )
    (judgement,) = check_plain_http(evidence)
    assert [f.path for f in judgement.findings] == ["/faq"]
