"""Requirement 1's transport checks and requirement 3's certificate check, from literal evidence."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from connectguard.checks.certificates import check_certificates
from connectguard.checks.headers import ONE_YEAR
from connectguard.checks.tls import (
    check_plain_http_port,
    check_tls_protocols,
    is_recommended_suite,
    is_weak_suite,
)
from connectguard.checks.transport import check_hsts
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Judgement, Level
from connectguard.probes.evidence import Evidence
from connectguard.probes.transport_evidence import (
    PROTOCOLS,
    CertificateFacts,
    OriginRole,
    PlainHttpEvidence,
    ProtocolSupport,
    TlsEvidence,
    TransportEvidence,
)
from connectguard.verdicts import combine

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
GOOD_SUITES = ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
URL = "https://app.example.com/atlassian-connect.json"


def evidence(transport: TransportEvidence) -> Evidence:
    raw = {"key": "k", "name": "n", "baseUrl": "https://app.example.com"}
    descriptor = parse_descriptor(json.dumps(raw), URL)
    return Evidence(
        target=URL,
        scan_time=int(NOW.timestamp()),
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan_endpoints(descriptor, URL),
        transport=transport,
    )


def protocols(
    accepted: set[str], tls12: tuple[str, ...] = GOOD_SUITES
) -> tuple[ProtocolSupport, ...]:
    return tuple(
        ProtocolSupport(p, p in accepted, tls12 if p == "TLS 1.2" and p in accepted else ())
        for p in PROTOCOLS
    )


def cert(
    days_from: int = -10,
    days_to: int = 200,
    key: tuple[str, int] = ("RSA", 2048),
    signature: str = "sha256",
    self_issued: bool = False,
) -> CertificateFacts:
    return CertificateFacts(
        subject="app.example.com",
        issuer="Example CA",
        sans=("app.example.com",),
        not_before=(NOW + dt.timedelta(days=days_from)).isoformat(),
        not_after=(NOW + dt.timedelta(days=days_to)).isoformat(),
        key_type=key[0],
        key_bits=key[1],
        signature_hash=signature,
        self_issued=self_issued,
    )


def scan(
    role: OriginRole = OriginRole.APP,
    accepted: frozenset[str] = frozenset({"TLS 1.2", "TLS 1.3"}),
    **fields: object,
) -> TlsEvidence:
    values: dict[str, object] = {
        "protocols": protocols(set(accepted)) if role is not OriginRole.EXTERNAL else (),
        "chain": (cert(),),
        "verified": True,
    }
    values.update(fields)
    return TlsEvidence("app.example.com", 443, role, "192.0.2.1", **values)  # type: ignore[arg-type]


def verdict(judgements: list[Judgement], number: str) -> str:
    return next(r for r in combine(judgements) if r.requirement == number).verdict.value


class TestProtocols:
    def test_modern_app_origin_passes(self) -> None:
        result = check_tls_protocols(evidence(TransportEvidence(tls=(scan(),))))
        assert verdict(result, "1") == "pass"
        assert not result[0].findings

    @pytest.mark.parametrize("legacy", ["SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1"])
    def test_each_legacy_protocol_fails_and_is_named(self, legacy: str) -> None:
        found = scan(accepted=frozenset({legacy, "TLS 1.2"}))
        result = check_tls_protocols(evidence(TransportEvidence(tls=(found,))))
        assert verdict(result, "1") == "fail"
        (finding,) = result[0].findings
        assert finding.level is Level.FAIL and legacy in finding.summary

    def test_errored_protocol_probe_is_inconclusive_never_pass(self) -> None:
        probes = list(protocols({"TLS 1.2", "TLS 1.3"}))
        probes[2] = ProtocolSupport("TLS 1.0", None, error="connectivity_issue: reset")
        found = scan(protocols=tuple(probes))
        result = check_tls_protocols(evidence(TransportEvidence(tls=(found,))))
        assert verdict(result, "1") == "inconclusive"
        assert "TLS 1.0" in result[0].undecided[0] and "reset" in result[0].undecided[0]

    def test_a_failed_tls_scan_is_inconclusive(self) -> None:
        found = TlsEvidence("app.example.com", 443, OriginRole.APP, error="no TLS handshake: x")
        result = check_tls_protocols(evidence(TransportEvidence(tls=(found,))))
        assert verdict(result, "1") == "inconclusive"

    def test_vendor_origin_gives_advice_only(self) -> None:
        found = scan(role=OriginRole.VENDOR, accepted=frozenset({"TLS 1.0", "TLS 1.2"}))
        result = check_tls_protocols(evidence(TransportEvidence(tls=(found,))))
        assert [f.level for f in result[0].findings] == [Level.ADVICE]
        assert verdict(result, "1") == "not_tested"

    def test_external_origin_is_not_judged(self) -> None:
        found = scan(role=OriginRole.EXTERNAL, error="no TLS handshake: refused")
        result = check_tls_protocols(evidence(TransportEvidence(tls=(found,))))
        assert verdict(result, "1") == "not_tested"


class TestCipherSuites:
    @pytest.mark.parametrize(
        "suite",
        [
            "TLS_RSA_WITH_RC4_128_SHA",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_RSA_WITH_NULL_SHA256",
            "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
            "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
        ],
    )
    def test_weak_suites(self, suite: str) -> None:
        assert is_weak_suite(suite)
        assert not is_recommended_suite(suite)

    @pytest.mark.parametrize(
        ("suite", "recommended"),
        [
            ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", True),
            ("TLS_RSA_WITH_AES_256_GCM_SHA384", True),
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False),
            ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", False),
            ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", False),
        ],
    )
    def test_recommendation(self, suite: str, recommended: bool) -> None:
        assert is_recommended_suite(suite) is recommended

    def test_weak_and_missing_recommendation_are_advice(self) -> None:
        suites = ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        found = scan(protocols=protocols({"TLS 1.2"}, tls12=suites))
        result = check_tls_protocols(evidence(TransportEvidence(tls=(found,))))
        assert verdict(result, "1") == "pass"
        details = sorted(f.detail for f in result[0].findings)
        assert details == ["no-aes256-gcm", "weak"]
        assert all(f.level is Level.ADVICE for f in result[0].findings)


class TestPlainHttp:
    def probe(self, **answer: object) -> PlainHttpEvidence:
        exchange = Exchange("GET", "http://app.example.com/", **answer)  # type: ignore[arg-type]
        return PlainHttpEvidence("app.example.com", 80, exchange)

    @pytest.mark.parametrize(
        ("answer", "expected"),
        [
            ({"error": "could not connect: refused"}, "pass"),
            ({"status": 301, "headers": (("Location", "https://app.example.com/"),)}, "pass"),
            ({"status": 308, "headers": (("location", "https://app.example.com/x"),)}, "pass"),
            ({"status": 302, "headers": (("Location", "http://app.example.com/"),)}, "fail"),
            ({"status": 200, "body": b"<html>hello</html>"}, "fail"),
            ({"status": 404, "body": b"not here"}, "fail"),
        ],
    )
    def test_port80(self, answer: dict[str, object], expected: str) -> None:
        result = check_plain_http_port(evidence(TransportEvidence(port80=(self.probe(**answer),))))
        assert verdict(result, "1") == expected


class TestCertificates:
    def judge(self, found: TlsEvidence) -> tuple[str, list[tuple[Level, str]]]:
        result = check_certificates(evidence(TransportEvidence(tls=(found,))))
        findings = [(f.level, f.check) for f in result[0].findings if f.level is not Level.INFO]
        return verdict(result, "3"), findings

    def test_valid_certificate_passes_and_is_described(self) -> None:
        result = check_certificates(evidence(TransportEvidence(tls=(scan(),))))
        assert verdict(result, "3") == "pass"
        (info,) = result[0].findings
        facts = dict(info.facts)
        assert facts["subject"] == "app.example.com" and facts["issuer"] == "Example CA"
        assert facts["names"] == "app.example.com" and "to" in facts["valid"]

    def test_expired(self) -> None:
        found = scan(
            chain=(cert(-400, -30),), verified=False, verify_error="certificate has expired"
        )
        assert self.judge(found) == ("fail", [(Level.FAIL, "certificate-invalid")])

    def test_not_yet_valid_fails_even_if_the_handshake_said_nothing(self) -> None:
        assert self.judge(scan(chain=(cert(5, 300),), verified=True))[0] == "fail"

    def test_unverified_chain(self) -> None:
        found = scan(verified=False, verify_error="self-signed certificate")
        assert self.judge(found) == ("fail", [(Level.FAIL, "certificate-invalid")])

    def test_expiring_soon_is_a_warning(self) -> None:
        assert self.judge(scan(chain=(cert(-300, 12),))) == (
            "pass",
            [(Level.WARNING, "certificate-expiring")],
        )

    @pytest.mark.parametrize(
        "weak", [cert(key=("RSA", 1024)), cert(signature="sha1"), cert(key=("EC", 160))]
    )
    def test_weak_key_or_signature_is_advice(self, weak: CertificateFacts) -> None:
        assert self.judge(scan(chain=(weak,))) == ("pass", [(Level.ADVICE, "certificate-weak")])

    def test_a_root_signed_with_sha1_is_not_advice(self) -> None:
        root = cert(signature="sha1", self_issued=True)
        assert self.judge(scan(chain=(cert(), root), chain_has_root=True)) == ("pass", [])

    @pytest.mark.parametrize(
        "found",
        [
            TlsEvidence("h", 443, OriginRole.EXTERNAL, error="no address: NXDOMAIN"),
            TlsEvidence("h", 443, OriginRole.APP, verify_error="the server sent no certificate"),
            scan(verified=None, verify_error="the verifying handshake failed: reset"),
        ],
    )
    def test_undecided(self, found: TlsEvidence) -> None:
        assert self.judge(found) == ("inconclusive", [])


class TestHstsOverRedirects:
    """HSTS of a host is what a browser keeps after that host's own answers, in order."""

    def judge(self, *answers: tuple[int, list[str]]) -> tuple[str, list[str]]:
        chain = tuple(
            Exchange(
                "GET",
                f"https://app.example.com/{i}",
                status=status,
                headers=tuple(("Strict-Transport-Security", value) for value in hsts),
            )
            for i, (status, hsts) in enumerate(answers)
        )
        found = replace(
            evidence(TransportEvidence()), host_responses=(("https://app.example.com", chain),)
        )
        judgements = check_hsts(found)
        paths = [f.path for j in judgements for f in j.findings if f.level is Level.FAIL]
        return verdict(judgements, "1"), paths

    def test_header_on_the_redirect_is_kept_by_the_browser(self) -> None:
        assert self.judge((302, [f"max-age={ONE_YEAR}"]), (200, []))[0] == "pass"

    def test_header_on_the_page_after_a_bare_redirect(self) -> None:
        assert self.judge((302, []), (200, [f"max-age={ONE_YEAR}"]))[0] == "pass"

    def test_the_last_valid_header_wins(self) -> None:
        assert self.judge((302, [f"max-age={ONE_YEAR}"]), (200, ["max-age=0"])) == ("fail", ["/1"])
        assert self.judge((302, ["max-age=0"]), (200, [f"max-age={ONE_YEAR}"]))[0] == "pass"

    def test_an_invalid_header_is_ignored_but_reported_when_alone(self) -> None:
        assert self.judge((302, [f"max-age={ONE_YEAR}"]), (200, ["max-age=1; max-age=1"]))[0] == (
            "pass"
        )
        assert self.judge((302, []), (200, ["includeSubDomains"])) == ("fail", ["/1"])

    def test_no_header_anywhere_fails_on_the_last_answer(self) -> None:
        assert self.judge((301, []), (200, [])) == ("fail", ["/1"])
