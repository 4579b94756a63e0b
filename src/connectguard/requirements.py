"""The 15 Marketplace security requirements for cloud apps (June 2020 list), with the numbers
Atlassian uses today, so that reports can show both."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    number: str
    current: str
    title: str


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("1", "3", "TLS 1.2+ for all traffic and HSTS of at least one year"),
    Requirement("2", "7.3", "Cache-Control no-cache and no-store on pages with sensitive data"),
    Requirement("3", "6.1, 6.2", "Vendor-controlled domains with valid TLS certificates"),
    Requirement("4", "6.3", "No dangling DNS records open to subdomain takeover"),
    Requirement("5", "1.1, 1.2, 1.4", "Every request authenticated and authorized"),
    Requirement("6", "2", "Stored data reachable only with authentication"),
    Requirement("7", "5", "The Connect sharedSecret is never exposed"),
    Requirement("8", "5", "JWTs and OAuth tokens are never exposed"),
    Requirement("9", "1.1", "Connect JWTs validated on the server"),
    Requirement("10", "10", "No collection of Atlassian user credentials"),
    Requirement("11", "7.4", "Session cookies with HttpOnly and Secure"),
    Requirement("12", "7.2", "A safe Referrer-Policy"),
    Requirement("13", "8.1", "The qsh claim is validated"),
    Requirement("14", "9", "No components with known high or critical vulnerabilities"),
    Requirement("15", "11", "Vulnerabilities fixed within the Security Bug Fix Policy deadlines"),
)

BY_NUMBER: dict[str, Requirement] = {r.number: r for r in REQUIREMENTS}
NUMBERS: tuple[str, ...] = tuple(r.number for r in REQUIREMENTS)
