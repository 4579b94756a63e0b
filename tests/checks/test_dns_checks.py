"""Requirement 4's takeover check and requirement 3's domain check, from literal evidence."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from connectguard.checks.dns import check_dns_takeover
from connectguard.checks.domains import check_domains
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Judgement, Level
from connectguard.probes.evidence import Evidence
from connectguard.probes.takeover import TakeoverFingerprint
from connectguard.probes.transport_evidence import (
    Delegation,
    DnsEvidence,
    DnsOutcome,
    DomainEvidence,
    NameserverAnswer,
    RdapEvidence,
    TransportEvidence,
)
from connectguard.verdicts import combine

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
HEROKU = TakeoverFingerprint("Heroku", "PaaS", ("*.herokuapp.com",), 404, "No such app")
URL = "https://app.example.com/atlassian-connect.json"


def evidence(transport: TransportEvidence, base_url: str = "https://app.example.com") -> Evidence:
    raw = {"key": "k", "name": "n", "baseUrl": base_url}
    descriptor = parse_descriptor(json.dumps(raw), URL)
    return Evidence(
        target=URL,
        scan_time=int(NOW.timestamp()),
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan_endpoints(descriptor, URL),
        transport=transport,
    )


def verdict(judgements: list[Judgement], number: str) -> str:
    return next(r for r in combine(judgements) if r.requirement == number).verdict.value


def takeover(*records: DnsEvidence) -> tuple[str, list[str]]:
    result = check_dns_takeover(evidence(TransportEvidence(dns=records)))
    return verdict(result, "4"), [f.check for f in result[0].findings]


def answer(status: int, body: str) -> Exchange:
    return Exchange("GET", "https://docs.example.com/", status=status, body=body.encode())


class TestTakeover:
    def test_plain_host_passes(self) -> None:
        record = DnsEvidence("app.example.com", DnsOutcome.RESOLVED, addresses=("192.0.2.1",))
        assert takeover(record) == ("pass", [])

    def test_dangling_cname_fails(self) -> None:
        record = DnsEvidence("docs.example.com", DnsOutcome.NXDOMAIN, cnames=("gone.example.net",))
        assert takeover(record) == ("fail", ["dangling-cname"])

    def test_host_without_record_is_inconclusive(self) -> None:
        assert takeover(DnsEvidence("x.example.com", DnsOutcome.NXDOMAIN)) == ("inconclusive", [])

    def test_servfail_is_inconclusive(self) -> None:
        record = DnsEvidence("x.example.com", DnsOutcome.ERROR, error="answered SERVFAIL")
        assert takeover(record) == ("inconclusive", [])

    def test_provider_answering_unclaimed_response_fails(self) -> None:
        record = DnsEvidence(
            "docs.example.com",
            DnsOutcome.RESOLVED,
            cnames=("vendor-docs.herokuapp.com",),
            addresses=("192.0.2.9",),
            provider=HEROKU,
            responses=(answer(404, "<title>No such app</title>"),),
        )
        assert takeover(record) == ("fail", ["unclaimed-provider"])

    @pytest.mark.parametrize(
        "response",
        [
            answer(200, "<h1>Docs</h1><p>Heroku says No such app when an app is gone.</p>"),
            answer(404, "<h1>Page not found</h1>"),
        ],
    )
    def test_live_site_with_similar_words_passes(self, response: Exchange) -> None:
        record = DnsEvidence(
            "docs.example.com",
            DnsOutcome.RESOLVED,
            cnames=("vendor-docs.herokuapp.com",),
            addresses=("192.0.2.9",),
            provider=HEROKU,
            responses=(response,),
        )
        assert takeover(record) == ("pass", [])

    def test_provider_that_cannot_be_asked_is_inconclusive(self) -> None:
        refused = Exchange("GET", "https://docs.example.com/", error="could not connect")
        record = DnsEvidence(
            "docs.example.com",
            DnsOutcome.RESOLVED,
            cnames=("vendor-docs.herokuapp.com",),
            addresses=("192.0.2.9",),
            provider=HEROKU,
            responses=(refused,),
        )
        assert takeover(record) == ("inconclusive", [])

    def test_cname_without_address_is_a_warning(self) -> None:
        record = DnsEvidence("a.example.com", DnsOutcome.NO_ADDRESS, cnames=("txt.example.net",))
        assert takeover(record) == ("pass", ["cname-no-address"])

    def test_lame_delegation_is_a_warning(self) -> None:
        refused = NameserverAnswer("ns1.provider.net", False, "it answered REFUSED")
        record = DnsEvidence(
            "app.example.com",
            DnsOutcome.RESOLVED,
            addresses=("192.0.2.1",),
            delegations=(Delegation("example.com", (refused,)),),
        )
        assert takeover(record) == ("pass", ["lame-delegation"])

    def test_delegation_with_one_unknown_answer_is_not_reported(self) -> None:
        answers = (
            NameserverAnswer("ns1.provider.net", False, "it answered REFUSED"),
            NameserverAnswer("ns2.provider.net", None, "no answer: timeout"),
        )
        record = DnsEvidence(
            "app.example.com",
            DnsOutcome.RESOLVED,
            addresses=("192.0.2.1",),
            delegations=(Delegation("example.com", answers),),
        )
        assert takeover(record) == ("pass", [])

    def test_ip_only_app_is_not_tested(self) -> None:
        assert takeover() == ("not_tested", [])


class TestDomains:
    def judge(
        self, *domains: DomainEvidence, base_url: str = "https://app.example.com"
    ) -> Judgement:
        return check_domains(evidence(TransportEvidence(domains=domains), base_url))[0]

    def test_domains_are_listed_as_info(self) -> None:
        result = self.judge(DomainEvidence("example.com", ("app.example.com",)))
        assert [(f.level, f.detail) for f in result.findings] == [(Level.INFO, "example.com")]
        assert verdict([result], "3") == "not_tested"

    def test_app_origin_under_another_domain_is_a_warning(self) -> None:
        result = self.judge(
            DomainEvidence("example.com", ("app.example.com",)),
            DomainEvidence("other.net", ("api.other.net",)),
            base_url="https://api.other.net",
        )
        warnings = [f for f in result.findings if f.level is Level.WARNING]
        assert [f.check for f in warnings] == ["app-domain-differs"]

    @pytest.mark.parametrize(
        ("expires", "expected", "level"),
        [
            ("2026-05-01T00:00:00Z", "fail", Level.FAIL),
            ("2026-06-10T00:00:00Z", "pass", Level.WARNING),
            ("2027-06-10T00:00:00Z", "pass", None),
        ],
    )
    def test_rdap_expiry(self, expires: str, expected: str, level: Level | None) -> None:
        rdap = RdapEvidence("https://rdap.test/domain/example.com", expires=expires)
        result = self.judge(DomainEvidence("example.com", ("app.example.com",), rdap))
        assert verdict([result], "3") == expected
        judged = [f.level for f in result.findings if f.check == "domain-registration"]
        assert judged == ([level] if level else [])

    def test_rdap_error_is_a_note(self) -> None:
        rdap = RdapEvidence("https://rdap.test/domain/example.com", error="answered 404")
        result = self.judge(DomainEvidence("example.com", ("app.example.com",), rdap))
        assert "answered 404" in result.notes[0]
