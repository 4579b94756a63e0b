"""Requirement 11: session cookies are set with HttpOnly and Secure, on every response."""

from __future__ import annotations

from connectguard.checks.headers import is_session_cookie, parse_set_cookie
from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence


def check_cookies(evidence: Evidence) -> list[Judgement]:
    r11 = JudgementBuilder("11")
    reported: set[tuple[str, str, str, str]] = set()
    for exchange in evidence.app_exchanges():
        for line in exchange.header("Set-Cookie"):
            cookie = parse_set_cookie(line)
            if cookie is None or cookie.deletes_at(evidence.scan_time):
                continue
            r11.count()
            missing = [
                flag
                for flag, ok in (("HttpOnly", cookie.http_only), ("Secure", cookie.secure))
                if not ok
            ]
            if not missing:
                continue
            session = is_session_cookie(cookie)
            # One finding per path: the same faulty cookie on a page and on a hook's 401 is
            # two places to fix (or one middleware, which the summaries then show).
            key = (exchange.origin, exchange.path, cookie.name, "/".join(missing))
            if key in reported:
                continue
            reported.add(key)
            kind = "session cookie" if session else "cookie"
            r11.add(
                Finding(
                    requirement="11",
                    check="session-cookie-flags" if session else "cookie-flags",
                    level=Level.FAIL if session else Level.ADVICE,
                    summary=f"The {kind} {cookie.name} is set without {' and '.join(missing)} "
                    f"(on {exchange.method} {exchange.path}, status {exchange.status}).",
                    fix=f"Set {cookie.name} with the {' and '.join(missing)} attribute"
                    f"{'s' if len(missing) > 1 else ''}.",
                    severity=Severity.MEDIUM if session else Severity.NONE,
                    origin=exchange.origin,
                    path=exchange.path,
                    method=exchange.method,
                    detail=cookie.name,
                    evidence=(exchange,),
                )
            )
    if not r11.judged:
        r11.note("no response set a cookie")
    return [r11.build()]
