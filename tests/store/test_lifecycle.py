"""The life of a finding across recorded scans, and requirement 15, from literal scan results."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from connectguard.model import Exchange, Finding, Level, Severity, Verdict
from connectguard.store import Status, open_store, record_scan
from connectguard.store.lifecycle import tracked_findings, tracking_fingerprint
from connectguard.store.queries import FindingFilter, FindingRecord, list_findings
from connectguard.store.suppressions import parse_config

DAY0 = dt.datetime(2025, 1, 6, 10, 0, tzinfo=dt.UTC)
MakeFinding = Callable[..., Finding]


def day(n: int) -> dt.datetime:
    return DAY0 + dt.timedelta(days=n)


def by_check(url: str, at: dt.datetime) -> dict[str, FindingRecord]:
    with open_store(url) as store:
        return {r.check: r for r in list_findings(store, FindingFilter(), at)}


def test_fixed_then_back_keeps_first_seen_and_due_date(store_url, make_result, make_finding):
    hsts = make_finding("1", "hsts", "/")
    referrer = make_finding("12", "referrer-policy", "/page")
    cookie = make_finding("11", "session-cookie-flags", "/page", detail="sid")
    with open_store(store_url) as store:
        first = record_scan(store, make_result([hsts, referrer, cookie]), scan_time=day(0))
        second = record_scan(store, make_result([cookie]), scan_time=day(14))
        third = record_scan(store, make_result([referrer, cookie]), scan_time=day(60))

    records = by_check(store_url, day(60))
    assert {c: r.status for c, r in records.items()} == {
        "hsts": Status.FIXED,
        "referrer-policy": Status.REGRESSED,
        "session-cookie-flags": Status.OPEN,
    }
    # The clock does not restart: first seen and due date come from the first scan.
    assert records["referrer-policy"].first_seen == day(0)
    assert records["referrer-policy"].last_seen == day(60)
    assert records["referrer-policy"].due_on == dt.date(2025, 6, 30)  # low: 25 weeks
    assert records["session-cookie-flags"].due_on == dt.date(2025, 3, 3)  # medium: 8 weeks
    assert records["hsts"].fixed_at == day(14)
    assert records["hsts"].days_left(day(60)) is None

    assert first.requirement.verdict is Verdict.PASS
    assert "nearest is due on 2025-03-03" in first.requirement.reason
    assert second.requirement.verdict is Verdict.PASS
    assert "1 open finding" in second.requirement.reason
    # Day 60 is past the cookie's due date (day 56): requirement 15 fails for it alone.
    assert third.requirement.verdict is Verdict.FAIL
    assert [f.detail for f in third.requirement.findings] == [
        records["session-cookie-flags"].fingerprint
    ]
    assert "4 days ago" in third.requirement.findings[0].summary
    assert third.result.requirement("15").verdict is Verdict.FAIL
    assert first.result.requirement("15").verdict is Verdict.PASS


def test_requirement_15_on_the_due_date_and_the_day_after(sqlite_url, make_result, make_finding):
    cookie = make_finding("11", "session-cookie-flags", detail="sid")
    with open_store(sqlite_url) as store:
        record_scan(store, make_result([cookie]), scan_time=day(0))
        on_time = record_scan(store, make_result([cookie]), scan_time=day(56))
        late = record_scan(store, make_result([cookie]), scan_time=day(57))
    assert on_time.requirement.verdict is Verdict.PASS
    assert "(0 days left" in on_time.requirement.reason
    assert late.requirement.verdict is Verdict.FAIL
    assert late.requirement.findings[0].severity is Severity.MEDIUM


def test_incomplete_scan_does_not_mark_findings_fixed(sqlite_url, make_result, make_finding):
    cookie = make_finding("11", "session-cookie-flags", detail="sid")
    auth = make_finding("5", "no-token-accepted", "/admin")
    with open_store(sqlite_url) as store:
        record_scan(store, make_result([cookie, auth]), scan_time=day(0))
        record_scan(
            store,
            make_result([], verdicts={"11": "not_tested", "5": "inconclusive"}),
            scan_time=day(7),
        )
        records = by_check(sqlite_url, day(7))
        assert records["session-cookie-flags"].status is Status.OPEN
        assert records["no-token-accepted"].status is Status.OPEN
        assert records["no-token-accepted"].last_seen == day(0)

        # A requirement that no longer applies has no open findings left.
        record_scan(
            store, make_result([cookie], verdicts={"5": "not_applicable"}), scan_time=day(8)
        )
    assert by_check(sqlite_url, day(8))["no-token-accepted"].status is Status.FIXED


def test_only_failing_findings_are_tracked(make_result, make_finding):
    advice = make_finding("1", "hsts-ip-literal", level=Level.ADVICE)
    failing = make_finding("12", "referrer-policy")
    result = make_result([advice, failing])
    assert [f.check for f in tracked_findings(result).values()] == ["referrer-policy"]


def test_fingerprint_follows_the_app_to_a_new_port(make_result, make_finding):
    on_one = make_result([], base="https://127.0.0.1:41000")
    on_two = make_result([], base="https://127.0.0.1:42000")
    one = make_finding("12", "referrer-policy", origin="https://127.0.0.1:41000")
    two = make_finding("12", "referrer-policy", origin="https://127.0.0.1:42000")
    assert one.fingerprint != two.fingerprint
    assert tracking_fingerprint(one, on_one) == tracking_fingerprint(two, on_two)
    # Another origin keeps the fingerprint the scan report shows.
    cdn = make_finding("3", "certificate-invalid", origin="https://cdn.example.test")
    assert tracking_fingerprint(cdn, on_one) == cdn.fingerprint


def test_cvss_override_changes_severity_and_due_date(sqlite_url, make_result, make_finding):
    config = parse_config(
        '[cvss]\n"referrer-policy" = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"\n'
    )
    with open_store(sqlite_url) as store:
        record_scan(store, make_result([make_finding("12", "referrer-policy")]), scan_time=day(0))
        assert by_check(sqlite_url, day(0))["referrer-policy"].due_on == dt.date(2025, 6, 30)
        late = record_scan(
            store,
            make_result([make_finding("12", "referrer-policy")]),
            scan_time=day(29),
            config=config,
        )
    record = by_check(sqlite_url, day(29))["referrer-policy"]
    assert (record.severity, record.cvss_score) == (Severity.CRITICAL, 9.8)
    assert record.due_on == dt.date(2025, 2, 3)  # critical: 4 weeks from the first sighting
    assert late.requirement.verdict is Verdict.FAIL


def test_suppressions_apply_until_they_expire(sqlite_url, make_result, make_finding):
    cookie = make_finding("11", "session-cookie-flags", detail="sid")
    referrer = make_finding("12", "referrer-policy", "/help/start")
    result = make_result([cookie, referrer])
    fingerprint = next(fp for fp, f in tracked_findings(result).items() if f.requirement == "11")
    config = parse_config(
        "[[suppress]]\n"
        f'fingerprint = "{fingerprint}"\n'
        'reason = "Cookie set by the load balancer, fix scheduled"\n'
        "expires = 2025-03-31\n"
        "\n"
        "[[suppress]]\n"
        'requirement = "12"\n'
        'path = "/help/*"\n'
        'reason = "Static help"\n'
        "expires = 2025-12-31\n"
    )
    with open_store(sqlite_url) as store:
        record_scan(store, result, scan_time=day(0), config=config)
        suppressed = record_scan(store, result, scan_time=day(80), config=config)
        records = by_check(sqlite_url, day(80))
        assert records["session-cookie-flags"].status is Status.SUPPRESSED
        assert records["session-cookie-flags"].suppression_reason.startswith("Cookie set")
        assert records["referrer-policy"].status is Status.SUPPRESSED
        # Past its due date, but suppressed: requirement 15 passes and says why.
        assert suppressed.requirement.verdict is Verdict.PASS
        assert "2 findings suppressed" in suppressed.requirement.notes

        expired = record_scan(store, result, scan_time=day(90), config=config)
    assert by_check(sqlite_url, day(90))["session-cookie-flags"].status is Status.OPEN
    assert expired.requirement.verdict is Verdict.FAIL
    assert any(
        "line 1" in note and "expired on 2025-03-31" in note for note in expired.requirement.notes
    )


def test_a_scan_with_a_slow_clock_changes_no_deadline(sqlite_url, make_result, make_finding):
    cookie = make_finding("11", "session-cookie-flags", detail="sid")
    referrer = make_finding("12", "referrer-policy")
    with open_store(sqlite_url) as store:
        record_scan(store, make_result([cookie]), scan_time=day(10))
        record_scan(store, make_result([cookie, referrer]), scan_time=day(20))
        skewed = record_scan(store, make_result([]), scan_time=day(15))
    records = by_check(sqlite_url, day(20))
    # Seen at day 20: a scan that says day 15 does not mark them fixed or move their dates.
    assert records["session-cookie-flags"].status is Status.OPEN
    assert records["session-cookie-flags"].first_seen == day(10)
    assert records["referrer-policy"].first_seen == day(20)
    assert any("behind the latest recorded scan" in n for n in skewed.requirement.notes)


def test_requirement_15_with_no_findings_passes_on_the_history(sqlite_url, make_result):
    with open_store(sqlite_url) as store:
        record_scan(store, make_result([]), scan_time=day(0))
        second = record_scan(store, make_result([]), scan_time=day(1))
    assert second.requirement.verdict is Verdict.PASS
    assert second.requirement.reason == "no open findings in the history of 2 scans"


def test_apps_are_kept_apart(sqlite_url, make_result, make_finding):
    with open_store(sqlite_url) as store:
        record_scan(
            store, make_result([make_finding("12", "referrer-policy")], app="a"), scan_time=day(0)
        )
        record_scan(store, make_result([], app="b"), scan_time=day(1))
        assert len(list_findings(store, FindingFilter(app="a"), day(1))) == 1
        assert list_findings(store, FindingFilter(app="b"), day(1)) == []
        assert list_findings(store, FindingFilter(status=Status.OPEN), day(1))[0].app == "a"


def test_a_finding_is_fixed_only_by_a_scan_that_asked_again(store_url, make_result, make_finding):
    asked = Exchange("GET", "https://app.example.test/admin", token="non-admin-user", status=200)
    admin = dataclasses.replace(
        make_finding("5", "admin-page-open-to-user", "/admin"), evidence=(asked,)
    )
    without_user = {"/admin none", "/admin valid"}  # no --user-account this time
    with open_store(store_url) as store:
        record_scan(store, make_result([admin]), scan_time=day(0))
        other = dataclasses.replace(make_result([]), probed=frozenset(without_user))
        record_scan(store, other, scan_time=day(7))
        assert by_check(store_url, day(7))["admin-page-open-to-user"].status is Status.OPEN
        again = dataclasses.replace(
            make_result([]), probed=frozenset({*without_user, "/admin non-admin-user"})
        )
        record_scan(store, again, scan_time=day(14))
    assert by_check(store_url, day(14))["admin-page-open-to-user"].status is Status.FIXED
