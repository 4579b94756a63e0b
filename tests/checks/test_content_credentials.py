"""Requirement 10 on literal forms: Atlassian credential forms fail, vendor logins are advice,
search boxes and newsletter fields are nothing."""

from __future__ import annotations

import pytest

from connectguard.checks.credentials import judge_form
from connectguard.model import Exchange, Level
from connectguard.probes.pages import parse_page

PAGE = "https://app.example.com/settings"


def levels(html: str) -> list[Level]:
    exchange = Exchange("GET", PAGE, status=200, body=html.encode())
    page = parse_page(PAGE, html.encode())
    found = [judge_form(form, exchange) for form in page.forms]
    return [f.level for f in found if f is not None]


@pytest.mark.parametrize(
    "html",
    [
        '<form><label>Atlassian account e-mail <input type="email" name="email"></label>'
        '<label>Password or API token <input type="password" name="secret"></label></form>',
        '<form><input type="password" name="pw" placeholder="Your Jira password"></form>',
        '<form><p>Enter your Confluence API token</p><input type="text" name="apiToken"></form>',
        '<form><p>Create one at id.atlassian.com</p><input type="password" name="t"></form>',
        '<form action="https://acme.atlassian.net/rest/auth/1/session" method="post">'
        '<input type="email" name="e"><input type="password" name="p"></form>',
        '<form><label>Jira e-mail <input name="email"></label>'
        '<label>API token <input name="api_token"></label></form>',
        '<input type="password" aria-label="Atlassian password">',
        '<h1>Connect your Jira site</h1><form><label>Jira site URL <input type="url"></label>'
        '<label>E-mail <input type="email"></label>'
        '<label>API token <input type="password" name="api_token"></label></form>',
        '<form><p>Connect to your Atlassian site</p><label>E-mail <input type="email"></label>'
        '<label>API token <input type="text" name="token"></label></form>',
        '<div><h2>Paste your Atlassian API token</h2><input type="password" id="t"></div>',
        "<h1>Log in with your Jira account</h1><p>Use your Jira e-mail and password.</p>"
        '<form><label>E-mail <input type="email"></label>'
        '<label>Password <input type="password"></label></form>',
        '<form><label for="t">Atlassian API token (stored encrypted with AWS KMS)</label>'
        '<input id="t" type="password" name="token"></form>',
        '<form><label>GitHub personal access token <input type="password" name="gh"></label>'
        '<label>Jira API token <input type="password" name="jira"></label></form>',
        '<span id="l">Confluence password</span><input type="password" aria-labelledby="l">',
        '<form><input type="password" name="jiraApiToken"></form>',
        '<form><input type="email" name="email"><input type="password" '
        'placeholder="Atlassian account password" aria-describedby="h"><p id="h">If your site '
        "enforces two-step verification (2FA), enter an API token instead.</p></form>",
        '<form><label>Jira password <input type="password" name="jiraBotPassword"></label></form>',
    ],
    ids=[
        "atlassian-account",
        "jira-password",
        "confluence-token",
        "id-atlassian",
        "posts-to-atlassian",
        "jira-email-with-token",
        "loose-field",
        "api-token-label",
        "api-token-text-field",
        "loose-field-block-heading",
        "heading-above-a-silent-form",
        "atlassian-token-aws-note",
        "github-and-jira-tokens",
        "aria-labelledby",
        "camel-case-name",
        "password-help-mentions-2fa",
        "name-containing-otp-letters",
    ],
)
def test_atlassian_credential_forms_fail(html: str) -> None:
    assert levels(html) == [Level.FAIL]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<form><input type="search" name="q" placeholder="Search Jira issues"></form>'
            '<form><label>E-mail for the digest <input type="email" name="email"></label></form>',
            [],
        ),
        (
            '<form action="https://login.acme.test/s"><p>Sign in to Acme (syncs with Jira)</p>'
            '<input type="email" name="email"><input type="password" name="password"></form>',
            [Level.ADVICE],
        ),
        (
            "<form><h2>Connect Jira to GitHub</h2><label>GitHub API token "
            '<input type="password" name="gh"></label></form>',
            [Level.ADVICE],
        ),
        (
            "<form><p>Paste your Slack token to post Jira updates</p>"
            '<label>Slack bot token <input name="slack_token"></label></form>',
            [],
        ),
        ('<form><input type="hidden" name="csrf_token" value="x"><button>Go</button></form>', []),
        ('<form><label>One-time code (2FA) <input type="password" name="otp"></label></form>', []),
        (
            "<h1>Sync Jira issues with Acme Analytics</h1><form><p>Sign in to your Acme Analytics"
            ' account.</p><label>Acme e-mail <input type="email"></label>'
            '<label>Acme password <input type="password"></label></form>',
            [Level.ADVICE],
        ),
        (
            '<h1>Jira board sync</h1><form><label>Acme password <input type="password"></label>'
            "</form>",
            [Level.ADVICE],
        ),
        (
            "<h1>Jira board sync</h1><form><p>Log in to Acme to sync your Jira issues</p>"
            '<input type="password" name="password"></form>',
            [Level.ADVICE],
        ),
        (
            "<h1>Jira deployments</h1><form><label>GitHub token "
            '<input type="text" name="token"></label></form>',
            [],
        ),
        (
            '<h2>Jira settings</h2><form method="get"><label>Token colour '
            '<input type="color" name="token-color"></label></form>',
            [],
        ),
        (
            "<h2>Jira issue summaries</h2><form><label>Token limit per summary "
            '<input type="text" inputmode="numeric" name="token_limit"></label>'
            '<label>Maximum tokens <input type="text" name="max_tokens"></label></form>',
            [],
        ),
    ],
    ids=[
        "search-and-newsletter",
        "vendor-login",
        "github-token",
        "slack-token",
        "csrf",
        "otp",
        "vendor-login-under-jira-heading",
        "vendor-password-label",
        "vendor-sign-in-line",
        "github-token-under-jira-heading",
        "colour-picker",
        "language-model-token-limit",
    ],
)
def test_look_alikes_do_not_fail(html: str, expected: list[Level]) -> None:
    assert levels(html) == expected


def test_the_reason_says_which_context_named_atlassian() -> None:
    html = (
        "<h1>Log in with your Jira account</h1><form method=post action=/c>"
        '<input type="password" name="password"></form>'
    )
    exchange = Exchange("GET", PAGE, status=200, body=html.encode())
    finding = judge_form(parse_page(PAGE, html.encode()).forms[0], exchange)
    assert finding is not None and finding.summary == (
        "/settings: form posting to https://app.example.com/c asks for a password or token that "
        'the heading above it ties to Atlassian ("Jira").'
    )


def test_the_finding_shows_the_form_without_values() -> None:
    html = (
        '<form method="post" action="/link"><label>Atlassian account e-mail '
        '<input type="email" name="email" value="me@example.com"></label>'
        '<input type="password" name="pw" value="s3cret"></form>'
    )
    exchange = Exchange("GET", PAGE, status=200, body=html.encode())
    finding = judge_form(parse_page(PAGE, html.encode()).forms[0], exchange)
    assert finding is not None and finding.path == "/settings"
    form = dict(finding.facts)["form"]
    assert form.startswith('<form method="post" action="https://app.example.com/link">')
    assert 'name="pw"' in form and "s3cret" not in form and "me@example.com" not in form
