"""The app descriptor (`atlassian-connect.json`): read, validated at the edge, kept as written.

Only what the scan relies on is validated; every problem becomes one `DescriptorError` sentence
that names the field, so a user can fix the descriptor or the URL they gave.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from connectguard.errors import DescriptorError

_T = TypeVar("_T")

_MAX_SHOWN: Final = 120
_HTML_MARKERS: Final = ("<!doctype html", "<html", "<head", "<body")


@dataclass(frozen=True)
class Descriptor:
    """A parsed descriptor. URLs are kept as written; `raw` is the whole JSON object.

    `notes` say what of it the scan cannot read and leaves out (a module entry that is not an
    object), for the report.
    """

    key: str
    name: str
    base_url: str
    auth_type: str
    lifecycle: dict[str, str]
    api_migrations: dict[str, bool]
    raw: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def modules(self) -> dict[str, Any]:
        """Module type -> an entry object or a list of entries, as written."""
        modules = self.raw.get("modules")
        return modules if isinstance(modules, dict) else {}

    def module_entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(module type, entry object) for every module entry, nested lists flattened.

        Entries that are not objects are left out; `notes` names them.
        """
        for module_type, entry in _module_leaves(self.modules):
            if isinstance(entry, dict):
                yield module_type, entry


def parse_descriptor(data: bytes | str, source_url: str) -> Descriptor:
    """Read a descriptor document fetched from `source_url`, or raise `DescriptorError`."""
    where = f"The descriptor at {source_url}"
    document = _load(data, where)
    if not isinstance(document, dict):
        raise DescriptorError(f"{where} is {_kind(document)} in JSON, not an object.")

    key = _required_text(document, "key", where)
    name = _required_text(document, "name", where)
    base_url = _required_text(document, "baseUrl", where)
    _check_base_url(base_url, where)
    return Descriptor(
        key=key,
        name=name,
        base_url=base_url,
        auth_type=_auth_type(document.get("authentication"), where),
        lifecycle=_mapping(document, "lifecycle", str, where),
        api_migrations=_mapping(document, "apiMigrations", bool, where),
        raw=document,
        notes=_module_notes(document.get("modules"), where),
    )


def _load(data: bytes | str, where: str) -> Any:
    text = _text(data, where).lstrip("\ufeff")
    if not text.strip():
        raise DescriptorError(f"{where} is empty, not a JSON document.")
    try:
        return _without_lone_surrogates(json.loads(text), text)
    except RecursionError:
        raise DescriptorError(f"{where} nests objects or arrays too deeply to be read.") from None
    except json.JSONDecodeError as error:
        if _looks_like_html(text):
            raise DescriptorError(
                f"{where} is an HTML page, not JSON.",
                hint="A login page, an error page or a web app answered at that URL: "
                "check that it is the app's descriptor URL.",
            ) from None
        raise DescriptorError(
            f"{where} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except ValueError:  # the only other one: an integer with too many digits to convert
        raise DescriptorError(f"{where} holds a number too long to be read.") from None


_LONE_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(document: Any, text: str) -> Any:
    r"""`document` with every lone surrogate (`"\ud800"` is valid JSON, but no text) replaced by
    U+FFFD, so that no report, log or store chokes on a string it cannot encode.

    Walked without recursion, and only when the JSON text has such an escape (or, given as
    text, such a character) at all.
    """
    if not (_LONE_SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text)):
        return document
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            node[:] = [_clean(item) for item in node]
            stack.extend(item for item in node if isinstance(item, dict | list))
        elif isinstance(node, dict):
            items = [(_clean(key), _clean(value)) for key, value in node.items()]
            node.clear()
            node.update(items)
            stack.extend(value for _, value in items if isinstance(value, dict | list))
    return _clean(document)


def _clean(value: Any) -> Any:
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _text(data: bytes | str, where: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode(json.detect_encoding(data))
    except UnicodeDecodeError:
        raise DescriptorError(f"{where} is not text in UTF-8 (or UTF-16/32).") from None


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:1024].lower()
    return head.startswith("<") and any(marker in head for marker in _HTML_MARKERS)


def _kind(value: Any) -> str:
    """The JSON name of a value's type with its article, for messages: "an array", "null"."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _shown(value: str) -> str:
    """Descriptor text as a message may quote it: short, one line, control characters escaped
    (a newline or a terminal escape sequence from the app never reaches the user's terminal)."""
    short = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "…"
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in short)


def _wrong_type(where: str, field: str, value: Any, wanted: str) -> DescriptorError:
    return DescriptorError(f'{where} has "{_shown(field)}" set to {_kind(value)}, not {wanted}.')


def _required_text(document: dict[str, Any], field: str, where: str) -> str:
    if field not in document:
        raise DescriptorError(f'{where} has no "{field}" field, which Connect requires.')
    value = document[field]
    if not isinstance(value, str):
        raise _wrong_type(where, field, value, "a string")
    if not value.strip():
        raise DescriptorError(f'{where} has an empty "{field}".')
    return value


def _check_base_url(base_url: str, where: str) -> None:
    problem = f'{where} has "baseUrl" set to {_shown(base_url)}, not an absolute http(s) URL'
    if any(char.isspace() or ord(char) < 32 for char in base_url):
        raise DescriptorError(f"{problem}: it contains white space or control characters.")
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        raise DescriptorError(f"{problem}: its host or port cannot be read.") from None
    if not parts.scheme:
        raise DescriptorError(f"{problem}: it is a relative URL.")
    if parts.scheme.lower() not in {"http", "https"}:
        raise DescriptorError(f"{problem}: its scheme must be http or https.")
    if not parts.hostname:
        raise DescriptorError(f"{problem}: it has no host.")


def _auth_type(authentication: Any, where: str) -> str:
    """`none` or `jwt`: a missing or unknown type counts as JWT, as SPEC says."""
    if authentication is None:
        return "jwt"
    if not isinstance(authentication, dict):
        raise _wrong_type(where, "authentication", authentication, "an object")
    kind = authentication.get("type")
    if kind is not None and not isinstance(kind, str):
        raise _wrong_type(where, "authentication.type", kind, "a string")
    return "none" if isinstance(kind, str) and kind.strip().lower() == "none" else "jwt"


def _mapping(
    document: dict[str, Any], field: str, value_type: type[_T], where: str
) -> dict[str, _T]:
    """An optional object whose values must all be of `value_type`."""
    value = document.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong_type(where, field, value, "an object")
    wanted = "a string" if value_type is str else "a boolean"
    for key, item in value.items():
        if not isinstance(item, value_type):
            raise _wrong_type(where, f"{field}.{key}", item, wanted)
    return dict(value)


def _module_notes(modules: Any, where: str) -> tuple[str, ...]:
    """One note per module type with entries that are not objects, which the scan skips.

    Connect requires only key, name and baseUrl: one module of an odd shape must not stop the
    scan of the others. Only `modules` itself must be an object.
    """
    if modules is None:
        return ()
    if not isinstance(modules, dict):
        raise _wrong_type(where, "modules", modules, "an object")
    skipped: dict[str, dict[str, None]] = {}
    for module_type, entry in _module_leaves(modules):
        if not isinstance(entry, dict):
            skipped.setdefault(module_type, {})[_kind(entry)] = None
    return tuple(
        f'descriptor "modules.{_shown(module_type)}": entries that are not objects '
        f"({', '.join(kinds)}) were skipped"
        for module_type, kinds in skipped.items()
    )


def _module_leaves(modules: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(module type, entry) for every entry, lists at any depth flattened in document order.

    Iterative, so no nesting depth can exhaust the stack.
    """
    for module_type, entries in modules.items():
        stack = [entries]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            else:
                yield module_type, node
