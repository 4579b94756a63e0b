"""Which URLs of a descriptor a scan probes, and in what role: the scan plan's Connect half.

An endpoint's role comes only from where its URL sits in the descriptor (a lifecycle key, the
`webhooks` module, any other module), never from words in the URL. The plan also names every
host and every plain-http URL the descriptor mentions, for the TLS, domain and DNS checks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import urlsplit

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.urls import fill_context_variables, join_url, scheme_of
from connectguard.model import origin_of

ADMIN_MODULE_TYPES: Final = frozenset(
    {"adminPages", "configurePage", "jiraProjectAdminTabPanels", "jiraProjectPermissions"}
)
ADMIN_CONDITIONS: Final = frozenset(
    {"user_is_admin", "user_is_sysadmin", "user_is_confluence_administrator"}
)

# `url` fields under these keys name static images or documentation, not pages of the app.
_STATIC_PARENTS: Final = frozenset({"icon", "imagePlaceholder", "documentation", "thumbnail"})
# Module types whose `url` is not an app URL for some `context`: "product" makes it a path in
# the product (Jira, Confluence), "page" the key of one of the app's page modules (which is
# planned where it is declared).
_PRODUCT_LINKS: Final = frozenset({"webItems", "webSections"})
_NOT_APP_URL_CONTEXTS: Final = frozenset({"product", "page"})
_MAX_CONDITION_DEPTH: Final = 64


class Role(enum.StrEnum):
    LIFECYCLE = "lifecycle"
    WEBHOOK = "webhook"
    PAGE = "page"
    API = "api"
    """A route of the app's own API that its iframes call with context tokens (`--api-route`)."""


@dataclass(frozen=True)
class Endpoint:
    """One URL of the app a scan may probe, with what the descriptor says about it.

    `url` is absolute with context variables filled; `template` is the URL as written.
    `admin` and `cacheable` hold only when every module naming this URL says so.
    """

    url: str
    template: str
    role: Role
    lifecycle_event: str | None
    module_type: str | None
    module_key: str | None
    admin: bool
    cacheable: bool
    external: bool

    @property
    def origin(self) -> str:
        return origin_of(self.url)


@dataclass(frozen=True)
class EndpointPlan:
    """What to probe for one app, and which hosts and URLs the other checks look at."""

    endpoints: tuple[Endpoint, ...]
    app_origins: tuple[str, ...]
    hosts: tuple[str, ...]
    plain_http_urls: tuple[str, ...]
    dropped: int

    @property
    def in_scope(self) -> tuple[Endpoint, ...]:
        """Endpoints on the app origins: the ones auth and header probes go to."""
        return tuple(endpoint for endpoint in self.endpoints if not endpoint.external)


@dataclass(frozen=True)
class _Found:
    """A URL field of the descriptor, before it is joined, filled and checked."""

    template: str
    role: Role
    lifecycle_event: str | None = None
    module_type: str | None = None
    module_key: str | None = None
    admin: bool = False
    cacheable: bool = False


def plan_endpoints(
    descriptor: Descriptor, descriptor_url: str, max_endpoints: int = 500
) -> EndpointPlan:
    """Endpoints in descriptor order (lifecycle hooks first), deduplicated by URL and role.

    At most `max_endpoints` are kept; `dropped` counts the rest.
    """
    app_origins = _unique([_origin(descriptor_url), _origin(descriptor.base_url)])
    found = [*_lifecycle_hooks(descriptor.lifecycle), *_module_urls(descriptor)]
    built = (_endpoint(item, descriptor.base_url, app_origins) for item in found)
    endpoints = _deduplicate(endpoint for endpoint in built if endpoint is not None)
    kept = max(0, max_endpoints)

    named = [descriptor.base_url, *absolute_urls(descriptor.raw)]
    return EndpointPlan(
        endpoints=tuple(endpoints[:kept]),
        app_origins=app_origins,
        hosts=_unique(map(_host, [descriptor_url, *named])),
        plain_http_urls=_unique(url for url in named if scheme_of(url) == "http"),
        dropped=max(0, len(endpoints) - kept),
    )


def api_endpoints(base_url: str, paths: tuple[str, ...]) -> tuple[Endpoint, ...]:
    """Endpoints for the routes the user declares as the app's own API (`--api-route PATH`).

    They are not in the descriptor: the app's iframes call them with `context-qsh` tokens, which
    are legitimate there and nowhere else.
    """
    endpoints = []
    for path in dict.fromkeys(paths):
        url = fill_context_variables(join_url(base_url, path))
        endpoints.append(
            Endpoint(
                url=url,
                template=path,
                role=Role.API,
                lifecycle_event=None,
                module_type=None,
                module_key=None,
                admin=False,
                cacheable=False,
                external=False,
            )
        )
    return tuple(endpoints)


def requires_admin(condition: Any, depth: int = 0) -> bool:
    """Whether a module's `conditions` let only administrators see it: whether every way to
    satisfy them needs `user_is_admin` (or `user_is_sysadmin`...) to be true.

    A list means `and`. Read with polarity: `invert` flips it, and under a flip `and` and `or`
    swap roles (De Morgan). A part that cannot be read, or nesting beyond a sane depth, counts
    as not requiring admin.
    """
    return _implies_admin(condition, positive=True, depth=depth)


def _implies_admin(condition: Any, positive: bool, depth: int) -> bool:
    """Whether `condition` holding (`positive`) or failing (not `positive`) implies an admin.

    An `and` that holds, or an `or` that fails, implies it when any part does; an `or` that
    holds, or an `and` that fails, only when every part does.
    """
    if depth > _MAX_CONDITION_DEPTH:
        return False
    if isinstance(condition, list):
        return _combine(condition, positive, every=not positive, depth=depth)
    if not isinstance(condition, dict):
        return False
    if _is_true(condition.get("invert")):
        positive = not positive
    if "and" in condition:
        return _combine(condition["and"], positive, every=not positive, depth=depth)
    if "or" in condition:
        return _combine(condition["or"], positive, every=positive, depth=depth)
    return positive and condition.get("condition") in ADMIN_CONDITIONS


def _combine(parts: Any, positive: bool, every: bool, depth: int) -> bool:
    if not isinstance(parts, list) or not parts:
        return False
    implied = (_implies_admin(part, positive, depth + 1) for part in parts)
    return all(implied) if every else any(implied)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# --- where URLs sit in the descriptor ----------------------------------------------------


def _lifecycle_hooks(lifecycle: dict[str, str]) -> Iterator[_Found]:
    for event, url in lifecycle.items():
        if url.strip():
            yield _Found(url, Role.LIFECYCLE, lifecycle_event=event)


def _module_urls(descriptor: Descriptor) -> Iterator[_Found]:
    for module_type, entry in descriptor.module_entries():
        yield from _entry_urls(module_type, entry)


def _entry_urls(module_type: str, entry: dict[str, Any]) -> Iterator[_Found]:
    key = entry.get("key")
    if module_type == "webhooks" and not isinstance(key, str):
        key = entry.get("event")  # webhooks are named by their event
    admin = module_type in ADMIN_MODULE_TYPES or requires_admin(entry.get("conditions"))
    context = entry.get("context")
    not_app_url = module_type in _PRODUCT_LINKS and context in _NOT_APP_URL_CONTEXTS
    for parent, url in _url_fields(entry):
        if not_app_url and not scheme_of(url):
            continue  # a path in the product, or a page module's key: not a URL on the app
        yield _Found(
            template=url,
            role=_module_role(module_type, parent),
            module_type=module_type,
            module_key=key if isinstance(key, str) else None,
            admin=admin,
            # Only the module's own URL is loaded as a cacheable shell; its editor, target or
            # render-mode URLs are loaded with a token like any page.
            cacheable=parent is None and entry.get("cacheable") is True,
        )


def _module_role(module_type: str, parent: str | None) -> Role:
    if module_type == "webhooks":
        return Role.WEBHOOK
    # A workflow post function's `triggered` URL is called by Jira like a webhook.
    if module_type == "jiraWorkflowPostFunctions" and parent == "triggered":
        return Role.WEBHOOK
    return Role.PAGE


def _url_fields(entry: dict[str, Any]) -> Iterator[tuple[str | None, str]]:
    """(parent key, value) of every string `url` field in a module entry, in document order.

    Iterative, so that no nesting depth can exhaust the stack; `conditions` are not searched.
    """
    stack: list[tuple[str | None, Any]] = [(None, entry)]
    while stack:
        parent, node = stack.pop()
        if isinstance(node, list):
            stack.extend((parent, item) for item in reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        url = node.get("url")
        if isinstance(url, str) and url.strip() and parent not in _STATIC_PARENTS:
            yield parent, url
        children = [(k, v) for k, v in node.items() if k != "conditions" and _is_container(v)]
        stack.extend(reversed(children))


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def absolute_urls(document: Any) -> Iterator[str]:
    """Every string in the document that is an absolute URL with an authority, in order."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if scheme_of(node) and _readable(node):
                yield node
        elif isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


# --- from URL fields to endpoints --------------------------------------------------------


def _endpoint(found: _Found, base_url: str, app_origins: tuple[str, ...]) -> Endpoint | None:
    url = fill_context_variables(join_url(base_url, found.template))
    origin = _origin(url)
    if scheme_of(url) not in {"http", "https"} or not origin:
        return None  # mailto:, javascript: or a URL without a usable host
    return Endpoint(
        url=url,
        template=found.template,
        role=found.role,
        lifecycle_event=found.lifecycle_event,
        module_type=found.module_type,
        module_key=found.module_key,
        admin=found.admin,
        cacheable=found.cacheable,
        external=origin not in app_origins,
    )


def _deduplicate(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    """One endpoint per (url, role), first place kept; admin and cacheable only if all agree.

    Lifecycle hooks stay one per event: `installed` and `enabled` at one URL get the install
    probes and the token probes each.
    """
    merged: dict[tuple[str, Role, str | None], Endpoint] = {}
    for endpoint in endpoints:
        key = (endpoint.url, endpoint.role, endpoint.lifecycle_event)
        first = merged.get(key)
        if first is None:
            merged[key] = endpoint
            continue
        merged[key] = replace(
            first,
            admin=first.admin and endpoint.admin,
            cacheable=first.cacheable and endpoint.cacheable,
        )
    return list(merged.values())


def _readable(url: str) -> bool:
    """False for a URL urllib cannot take apart (`http://[bad/x`, a port that is no number):
    no host or origin can be named for it, so it is left out of the plan."""
    try:
        urlsplit(url).port  # noqa: B018 - reading the port is the check
    except ValueError:
        return False
    return True


def _origin(url: str) -> str:
    """origin_of, or "" for a URL with no host or one urllib cannot read."""
    try:
        return origin_of(url) if _host(url) else ""
    except ValueError:
        return ""


def _host(url: str) -> str:
    """The host of an absolute URL, lower-cased; "" when it has none or not a real one
    (a wildcard, a context variable)."""
    if not scheme_of(url):
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host if all(char.isalnum() or char in "-_.:" for char in host) else ""


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
