"""Requirement 10 in code: literal snippets of apps that do and do not collect Atlassian
credentials."""

from __future__ import annotations

from connectguard.model import Level
from connectguard.source.credentials import find_credential_collection, is_code_file


def checks(text: str, path: str = "app.js") -> set[tuple[str, Level]]:
    return {(h.check, h.level) for h in find_credential_collection(text.encode(), path)}


def test_python_basic_auth_with_form_input_fails() -> None:
    code = (
        "@app.route('/link', methods=['POST'])\n"
        "def link():\n"
        "    email = request.form['email']\n"
        "    token = request.form['token']\n"
        "    jira = JIRA(server=f'https://{site}.atlassian.net', basic_auth=(email, token))\n"
        "    return jira.myself()\n"
    )
    assert ("basic-auth-user-credentials", Level.FAIL) in checks(code, "views.py")


def test_vendor_service_account_basic_auth_is_advice() -> None:
    code = (
        "const auth = { username: config.botEmail, password: config.botToken };\n"
        "await axios.get('https://acme.atlassian.net/rest/api/3/search', { auth: {\n"
        "  username: auth.username, password: auth.password } });\n"
    )
    assert checks(code) == {("basic-auth-atlassian", Level.ADVICE)}


def test_connect_jwt_calls_are_clean() -> None:
    code = (
        "const httpClient = addon.httpClient(req);\n"
        "httpClient.get('/rest/api/3/myself', (err, res, body) => res.send(body));\n"
    )
    assert checks(code) == set()


def test_forms() -> None:
    atlassian = '<p>Paste your Jira API token</p>\n<input type="password" name="token">\n'
    assert checks(atlassian, "connect.hbs") == {("credential-form", Level.FAIL)}
    jsx = '<label>Confluence password</label>\n<TextField type="password" {...props} />\n'
    assert checks(jsx, "Setup.tsx") == {("credential-form", Level.FAIL)}
    vendor = "<h2>Acme login</h2>\n<input type='password' name='password'>\n"
    assert checks(vendor, "login.html") == {("password-field", Level.ADVICE)}
    search = "<form action='/search'><input type='text' name='jql'></form>\n<p>Search Jira</p>\n"
    assert checks(search, "search.html") == set()


def test_reading_an_atlassian_token_from_the_request_fails() -> None:
    php = "<?php\n$token = $_POST['jira_api_token'];\nsave_setting('token', $token);\n"
    assert checks(php, "settings.php") == {("reads-user-credentials", Level.FAIL)}


def test_only_code_and_templates_are_read() -> None:
    assert is_code_file("src/App.tsx") and is_code_file("views/index.hbs")
    assert not is_code_file("README.md") and not is_code_file("data.json")
