"""Reading descriptors: what is kept, and the one-sentence error for each bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectguard.connect.descriptor import Descriptor, parse_descriptor
from connectguard.errors import DescriptorError

SOURCE = "https://app.example.test/atlassian-connect.json"
MINIMAL: dict[str, Any] = {"key": "my-app", "name": "My App", "baseUrl": "https://app.example.test"}


def parse(document: Any) -> Descriptor:
    return parse_descriptor(json.dumps(document), SOURCE)


def error_of(data: bytes | str) -> str:
    with pytest.raises(DescriptorError) as caught:
        parse_descriptor(data, SOURCE)
    return caught.value.message


def assert_one_sentence(message: str) -> None:
    text = message.replace(SOURCE, "URL")
    assert text.startswith("The descriptor at URL ")
    assert text.endswith(".")
    assert ". " not in text[:-1], text


def test_minimal_descriptor() -> None:
    descriptor = parse(MINIMAL)
    assert (descriptor.key, descriptor.name) == ("my-app", "My App")
    assert descriptor.base_url == "https://app.example.test"
    assert descriptor.auth_type == "jwt"
    assert descriptor.lifecycle == {}
    assert descriptor.api_migrations == {}
    assert descriptor.modules == {}
    assert descriptor.raw == MINIMAL


def test_fields_are_kept_as_written() -> None:
    document = {
        **MINIMAL,
        "baseUrl": "https://app.example.test/confluence/",
        "lifecycle": {"installed": "/lifecycle/added", "custom-event": "/custom"},
        "apiMigrations": {"signed-install": True, "context-qsh": False},
        "modules": {"generalPages": [{"key": "p", "url": "/p"}]},
        "scopes": ["READ"],
    }
    descriptor = parse(document)
    assert descriptor.base_url == "https://app.example.test/confluence/"
    assert descriptor.lifecycle == {"installed": "/lifecycle/added", "custom-event": "/custom"}
    assert descriptor.api_migrations == {"signed-install": True, "context-qsh": False}
    assert descriptor.modules == {"generalPages": [{"key": "p", "url": "/p"}]}
    assert descriptor.raw["scopes"] == ["READ"]


@pytest.mark.parametrize(
    ("authentication", "auth_type"),
    [
        ({"type": "none"}, "none"),
        ({"type": "NONE"}, "none"),
        ({"type": "None"}, "none"),
        ({"type": "jwt"}, "jwt"),
        ({"type": "JWT"}, "jwt"),
        ({"type": "oauth2"}, "jwt"),
        ({}, "jwt"),
        (None, "jwt"),
    ],
)
def test_auth_type(authentication: dict[str, str] | None, auth_type: str) -> None:
    document = dict(MINIMAL)
    if authentication is not None:
        document["authentication"] = authentication
    assert parse(document).auth_type == auth_type


def test_bytes_with_a_byte_order_mark_and_utf16() -> None:
    text = json.dumps({**MINIMAL, "name": "Café"})
    assert parse_descriptor(b"\xef\xbb\xbf" + text.encode(), SOURCE).name == "Café"
    assert parse_descriptor(text.encode("utf-16"), SOURCE).name == "Café"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ("", "empty"),
        ("{'key': 1}", "not valid JSON"),
        ("<!DOCTYPE html><html><body>Log in</body></html>", "HTML page"),
        ("\n  <html lang='en'><head><title>x</title></head></html>", "HTML page"),
        ("[1, 2]", "an array in JSON, not an object"),
        ('"text"', "a string in JSON, not an object"),
        ("null", "null in JSON, not an object"),
        (b'{"key": "\xc3\x28"}', "not text"),
        ("[" * 100_000 + "]" * 100_000, "too deeply"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "too deeply"),
        ('{"key": ' + "9" * 5000 + "}", "number too long"),
    ],
)
def test_documents_that_are_not_a_descriptor(data: bytes | str, named: str) -> None:
    message = error_of(data)
    assert named in message
    assert_one_sentence(message)


def test_html_page_gives_a_hint() -> None:
    with pytest.raises(DescriptorError) as caught:
        parse_descriptor("<!doctype html><title>Sign in</title>", SOURCE)
    assert caught.value.hint is not None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"key": None}, 'no "key" field'),
        ({"name": None}, 'no "name" field'),
        ({"baseUrl": None}, 'no "baseUrl" field'),
        ({"key": 42}, '"key" set to a number, not a string'),
        ({"key": True}, '"key" set to a boolean, not a string'),
        ({"name": ["x"]}, '"name" set to an array, not a string'),
        ({"baseUrl": {"url": "x"}}, '"baseUrl" set to an object, not a string'),
        ({"key": "  "}, 'empty "key"'),
        ({"baseUrl": "/relative/path"}, '"baseUrl" set to /relative/path, not an absolute'),
        ({"baseUrl": "app.example.test/path"}, "it is a relative URL"),
        ({"baseUrl": "ftp://app.example.test"}, "scheme must be http or https"),
        ({"baseUrl": "https://"}, "has no host"),
        ({"baseUrl": "https:///path"}, "has no host"),
        ({"baseUrl": "https://app.example.test:port"}, "host or port cannot be read"),
        ({"baseUrl": "https://[::1"}, "host or port cannot be read"),
        ({"baseUrl": " https://app.example.test"}, "white space"),
        ({"modules": []}, '"modules" set to an array, not an object'),
        ({"lifecycle": ["/installed"]}, '"lifecycle" set to an array, not an object'),
        ({"lifecycle": {"installed": 1}}, '"lifecycle.installed" set to a number, not a string'),
        ({"apiMigrations": {"signed-install": "yes"}}, '"apiMigrations.signed-install"'),
        ({"apiMigrations": True}, '"apiMigrations" set to a boolean'),
        ({"authentication": "jwt"}, '"authentication" set to a string, not an object'),
        ({"authentication": {"type": 1}}, '"authentication.type" set to a number'),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], named: str) -> None:
    document = {**MINIMAL, **change}
    document = {key: value for key, value in document.items() if value is not None}
    message = error_of(json.dumps(document))
    assert named in message
    assert_one_sentence(message)


def test_nested_lists_of_module_entries_are_flattened() -> None:
    a, b, c = ({"key": k, "url": f"/{k}"} for k in "abc")
    descriptor = parse({**MINIMAL, "modules": {"generalPages": [[a], [[b]], []], "webPanels": c}})
    assert list(descriptor.module_entries()) == [
        ("generalPages", a),
        ("generalPages", b),
        ("webPanels", c),
    ]
    assert descriptor.notes == ()


def test_module_entries_that_are_not_objects_are_skipped_with_a_note() -> None:
    page = {"key": "p", "url": "/p"}
    modules = {"generalPages": [page, 3, ["x", None]], "webItems": "x", "adminPages": [page]}
    descriptor = parse({**MINIMAL, "modules": modules})
    assert list(descriptor.module_entries()) == [("generalPages", page), ("adminPages", page)]
    assert descriptor.notes == (
        'descriptor "modules.generalPages": entries that are not objects '
        "(a number, a string, null) were skipped",
        'descriptor "modules.webItems": entries that are not objects (a string) were skipped',
    )


def test_deeply_nested_module_lists_cannot_crash() -> None:
    nested: Any = {"key": "deep", "url": "/deep"}
    for _ in range(900):
        nested = [nested]
    descriptor = parse({**MINIMAL, "modules": {"generalPages": nested}})
    assert [entry["key"] for _, entry in descriptor.module_entries()] == ["deep"]


def test_long_base_url_is_shortened_in_the_message() -> None:
    message = error_of(json.dumps({**MINIMAL, "baseUrl": "ftp://" + "a" * 5000}))
    assert len(message) < 400
