"""What an HTML page holds for the content checks: what it loads and links to, its forms and
their fields, its inline scripts and its visible text.

A page loads URLs through attributes (`src`, `srcset`...) and through CSS in its `style`
attributes and `<style>` blocks; all of them are requests that carry the page's URL as Referer.

Pages are parsed with lxml (libxml2's forgiving HTML parser), which stays linear on broken or
hostile markup where `html.parser` goes quadratic. Everything kept is capped, so a page of any
size yields a bounded `ParsedPage`; `parse_page` never raises.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final
from urllib.parse import urljoin, urlsplit

from lxml import etree

from connectguard.model import Exchange, origin_of

MAX_RESOURCES_PER_PAGE: Final = 20
MAX_RESOURCES: Final = 100
# What is kept of one page. Past a cap, what matters to the checks is still kept, under a cap
# of its own: URLs to other origins or carrying a token (8), forms with a password or token
# field (10); only same-origin links and ordinary forms are dropped.
MAX_REFERENCES: Final = 2000
MAX_FORMS: Final = 100
MAX_TEMPLATES: Final = 20
MAX_FIELDS: Final = 200
MAX_TEXT_CHARS: Final = 200_000
MAX_SCRIPT_CHARS: Final = 2_000_000
MAX_LABEL_CHARS: Final = 300
MAX_STYLE_CHARS: Final = 500_000
MAX_SRCSET_CANDIDATES: Final = 50
MAX_URL_CHARS: Final = 4096

# Where URLs sit: tag -> (attribute, whether the browser fetches it with the page). Links and
# form actions are followed only when the user acts.
_URL_ATTRIBUTES: Final[dict[str, tuple[tuple[str, bool], ...]]] = {
    "script": (("src", True),),
    "img": (("src", True),),
    "iframe": (("src", True),),
    "frame": (("src", True),),
    "embed": (("src", True),),
    "source": (("src", True),),
    "video": (("src", True), ("poster", True)),
    "audio": (("src", True),),
    "track": (("src", True),),
    "object": (("data", True),),
    "input": (("src", True),),
    "a": (("href", False),),
    "area": (("href", False),),
    "form": (("action", False),),
}
# Candidate lists (`srcset`): tag -> attribute. `imagesrcset` is fetched only by a preload link.
_SRCSET_ATTRIBUTES: Final[dict[str, str]] = {"img": "srcset", "source": "srcset"}
# url(...) and @import "..." in CSS; each alternative stops at a quote, bracket or line end, so a
# failed match never rescans the text after it.
_CSS_URL: Final = re.compile(
    r"url\(\s*(?:\"([^\"\n]{0,4096})\"|'([^'\n]{0,4096})'|([^()\"'\s]{0,4096}))\s*\)"
    r"|@import\s*(?:\"([^\"\n]{0,4096})\"|'([^'\n]{0,4096})')",
    re.IGNORECASE,
)
# <link> relations the browser fetches; others (canonical, preconnect, alternate...) send no
# request that carries the page's URL, so they are not kept.
_FETCHED_RELS: Final = frozenset(
    {"stylesheet", "modulepreload", "preload", "prefetch", "icon", "apple-touch-icon", "manifest"}
)
_TEXT_NODES: Final = etree.XPath(
    "//text()[not(ancestor::script or ancestor::style or ancestor::template"
    " or ancestor::noscript or ancestor::head)]"
)
_FIELD_TAGS: Final = frozenset({"input", "textarea", "select"})
_HEADING_TAGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# The block a field outside any form belongs to: its nearest ancestor of these tags.
_BLOCK_TAGS: Final = frozenset(
    {"div", "section", "fieldset", "article", "aside", "main", "dialog", "details", "li", "td"}
    | {"th", "p", "header", "footer", "nav", "dd", "figure"}
)


@dataclass(frozen=True)
class Reference:
    """A URL in the page: one the browser loads with it (`loads`) or one the user follows.

    `referrer_policy` is the element's own override (`referrerpolicy`, or `no-referrer` for
    `rel=noreferrer`), which wins over the page's policy for that request. CSS references have
    `attribute` "style" (a style attribute) or tag "style" (a `<style>` block) and no override.
    """

    tag: str
    attribute: str
    url: str
    loads: bool
    referrer_policy: str | None = None
    rel: str = ""


@dataclass(frozen=True)
class FormField:
    """An input the user fills in. `label` joins its label, placeholder, aria-label and title."""

    tag: str
    type: str
    name: str
    id: str
    autocomplete: str
    label: str

    @property
    def words(self) -> str:
        """Everything that says what the field is for, lower-cased."""
        return " ".join([self.name, self.id, self.autocomplete, self.label]).lower()

    def describe(self) -> str:
        parts = [f"<{self.tag}"]
        if self.tag == "input":
            parts.append(f'type="{html.escape(self.type)}"')
        if self.name:
            parts.append(f'name="{html.escape(self.name)}"')
        text = self.label.strip()
        if text:
            parts.append(f'label="{html.escape(text[:80])}"')
        return " ".join(parts) + ">"


@dataclass(frozen=True)
class Form:
    """A form, or the fields outside any form that share one block (`action` empty, `loose`).

    `text` is the form's own text (for loose fields, their block's); `heading` is the text of the
    nearest heading before it that is not inside another form.
    """

    action: str
    method: str
    fields: tuple[FormField, ...]
    text: str
    loose: bool = False
    heading: str = ""

    def describe(self) -> str:
        """The form as a short tag outline, without any field value: safe for a report."""
        head = (
            "fields outside a form"
            if self.loose
            else (f'<form method="{self.method}" action="{html.escape(self.action)}">')
        )
        return " ".join([head, *(f.describe() for f in self.fields[:12])])


@dataclass(frozen=True)
class ParsedPage:
    url: str
    title: str = ""
    text: str = ""
    references: tuple[Reference, ...] = ()
    forms: tuple[Form, ...] = ()
    scripts: tuple[str, ...] = ()
    meta_referrers: tuple[str, ...] = ()
    capped: tuple[str, ...] = field(default=())

    def loaded(self, tag: str | None = None) -> list[Reference]:
        return [r for r in self.references if r.loads and (tag is None or r.tag == tag)]


def is_html(exchange: Exchange) -> bool:
    """Whether the answer is an HTML document: by Content-Type, else by its first bytes."""
    content_type = ";".join(exchange.header("Content-Type")).lower()
    if content_type:
        return "html" in content_type
    head = exchange.body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def is_script(exchange: Exchange) -> bool:
    """Whether the answer is JavaScript: by Content-Type, else by the path's extension."""
    content_type = ";".join(exchange.header("Content-Type")).lower()
    if "javascript" in content_type or "ecmascript" in content_type:
        return True
    if content_type and "octet-stream" not in content_type and "text/plain" not in content_type:
        return False
    return exchange.path.lower().endswith((".js", ".mjs", ".cjs"))


def page_of(exchange: Exchange) -> ParsedPage | None:
    """The parsed page of an HTML answer; None for anything else."""
    if not is_html(exchange) or b"\x00" in exchange.body[:1024]:
        return None
    return parse_page(exchange.url, exchange.body)


@lru_cache(maxsize=32)
def parse_page(url: str, body: bytes) -> ParsedPage:
    """Parse an HTML document fetched from `url`. Broken markup is parsed as browsers would
    recover it; an empty or unparseable body gives an empty page."""
    text = body.decode("utf-8", errors="replace")
    parser = etree.HTMLParser(
        recover=True, no_network=True, remove_comments=True, remove_pis=True, encoding="utf-8"
    )
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except (etree.LxmlError, ValueError):
        root = None
    if root is None:
        return ParsedPage(url)
    return _Walker(url, root).page()


class _Walker:
    def __init__(self, url: str, root: etree._Element) -> None:
        self.root = root
        self.base = url
        self.url = url
        self.references: list[Reference] = []
        self.scripts: list[str] = []
        self.script_chars = 0
        self.meta: list[str] = []
        self.capped: dict[str, None] = {}
        self.labels: dict[str, str] = {}
        self.ids: dict[str, etree._Element] = {}
        self.style_chars = 0
        self.origin = origin_of(url)
        self.plain_references = self.telling_references = 0

    def page(self) -> ParsedPage:
        elements = [e for e in self.root.iter() if isinstance(e.tag, str)]
        self._read_base(elements)
        self._read_labels(elements)
        for element in elements:
            self._visit(element)
        forms = self._forms(elements)
        # Markup a script renders into the page (a Vue or Knockout template) asks what it says.
        for template in self._templates(elements):
            self._read_labels(template)
            forms += self._forms(template)
        return ParsedPage(
            url=self.url,
            title=_text_of(self.root.find(".//title")),
            text=self._visible_text(),
            references=tuple(self.references),
            forms=tuple(forms),
            scripts=tuple(self.scripts),
            meta_referrers=tuple(self.meta),
            capped=tuple(self.capped),
        )

    def _templates(self, elements: list[etree._Element]) -> list[list[etree._Element]]:
        """The elements of each `<script type="text/x-template">` (or another markup type),
        parsed as HTML; at most MAX_TEMPLATES of them, MAX_SCRIPT_CHARS of markup in all."""
        templates: list[list[etree._Element]] = []
        room = MAX_SCRIPT_CHARS
        for element in elements:
            kind = (element.get("type") or "").strip().lower()
            if element.tag != "script" or not _TEMPLATE_TYPE.search(kind) or not element.text:
                continue
            if len(templates) >= MAX_TEMPLATES or room <= 0:
                self.capped[f"only {len(templates)} script templates were read"] = None
                break
            markup = element.text[:room]
            room -= len(markup)
            fragment = _parse_fragment(markup)
            if fragment is not None:
                templates.append([e for e in fragment.iter() if isinstance(e.tag, str)])
        return templates

    def _read_base(self, elements: list[etree._Element]) -> None:
        for element in elements:
            if element.tag == "base" and element.get("href"):
                self.base = urljoin(self.url, (element.get("href") or "").strip())
                return

    def _read_labels(self, elements: list[etree._Element]) -> None:
        for element in elements:
            if element.tag == "label" and element.get("for"):
                self.labels[element.get("for") or ""] = _text_of(element)[:MAX_LABEL_CHARS]
            ident = (element.get("id") or "").strip()
            if ident:
                self.ids.setdefault(ident, element)

    def _visit(self, element: etree._Element) -> None:
        tag = str(element.tag).lower()
        if tag == "script" and not element.get("src"):
            self._add_script(element.text or "")
        elif tag == "style":
            self._add_css("style", "url", element.text or "")
        elif tag == "meta" and (element.get("name") or "").strip().lower() == "referrer":
            self.meta.append(element.get("content") or "")
        elif tag == "link":
            self._add_link(element)
        for attribute, loads in _URL_ATTRIBUTES.get(tag, ()):
            if element.get(attribute):
                self._add(element, tag, attribute, loads)
        srcset = _SRCSET_ATTRIBUTES.get(tag)
        if srcset and element.get(srcset):
            self._add_srcset(element, tag, srcset)
        if element.get("style"):
            self._add_css(tag, "style", element.get("style") or "")

    def _add_link(self, element: etree._Element) -> None:
        rels = set((element.get("rel") or "").lower().split())
        rel = " ".join(sorted(rels))
        if element.get("href") and rels & _FETCHED_RELS:
            self._add(element, "link", "href", True, rel)
        if "preload" in rels and element.get("imagesrcset"):
            self._add_srcset(element, "link", "imagesrcset", rel)

    def _add(
        self, element: etree._Element, tag: str, attribute: str, loads: bool, rel: str = ""
    ) -> None:
        raw = element.get(attribute) or ""
        self._add_url(tag, attribute, raw, loads, _element_policy(element), rel)

    def _add_srcset(self, element: etree._Element, tag: str, attribute: str, rel: str = "") -> None:
        policy = _element_policy(element)
        for raw in srcset_urls(element.get(attribute) or ""):
            self._add_url(tag, attribute, raw, True, policy, rel)

    def _add_css(self, tag: str, attribute: str, css: str) -> None:
        """URLs a style attribute or `<style>` block fetches; they go out with the page's policy,
        whatever the element says."""
        room = MAX_STYLE_CHARS - self.style_chars
        if room <= 0:
            self.capped[f"styles past {MAX_STYLE_CHARS} characters were not read"] = None
            return
        self.style_chars += min(len(css), room)
        for raw in css_urls(css[:room]):
            self._add_url(tag, attribute, raw, True, None)

    def _add_url(
        self, tag: str, attribute: str, raw: str, loads: bool, policy: str | None, rel: str = ""
    ) -> None:
        try:
            url = urljoin(self.base, raw.strip())
            parts = urlsplit(url)
        except ValueError:
            return
        if parts.scheme not in {"http", "https"}:
            return
        telling = "jwt" in parts.query.lower() or origin_of(url) != self.origin
        kept = self.telling_references if telling else self.plain_references
        if kept >= MAX_REFERENCES:
            which = "URLs to other origins or with a token" if telling else "same-origin URLs"
            self.capped[f"only the first {MAX_REFERENCES} {which} of the page were read"] = None
            return
        if telling:
            self.telling_references += 1
        else:
            self.plain_references += 1
        self.references.append(Reference(tag, attribute, url, loads, policy, rel))

    def _add_script(self, text: str) -> None:
        if not text.strip():
            return
        room = MAX_SCRIPT_CHARS - self.script_chars
        if room <= 0:
            self.capped[f"inline scripts past {MAX_SCRIPT_CHARS} characters were not read"] = None
            return
        self.scripts.append(text[:room])
        self.script_chars += min(len(text), room)

    def _visible_text(self) -> str:
        parts: list[str] = []
        size = 0
        nodes = _TEXT_NODES(self.root)
        for piece in nodes if isinstance(nodes, list) else []:
            text = str(piece).strip()
            if text:
                parts.append(text)
                size += len(text) + 1
            if size > MAX_TEXT_CHARS:
                self.capped[f"only the first {MAX_TEXT_CHARS} characters of text were read"] = None
                break
        return " ".join(parts)[:MAX_TEXT_CHARS]

    def _forms(self, elements: list[etree._Element]) -> list[Form]:
        forms: list[Form] = []
        # Fields outside any form, grouped by their enclosing block (None: no block).
        loose: dict[etree._Element | None, tuple[str, list[FormField]]] = {}
        count = secret_forms = 0
        heading = ""
        for element in elements:
            if element.tag in _HEADING_TAGS and not _inside(element, "form"):
                heading = _text_of(element)[:MAX_LABEL_CHARS]
            elif element.tag == "form" and len(forms) < MAX_FORMS:
                forms.append(self._form(element, heading))
            elif element.tag == "form" and secret_forms < MAX_FORMS and _asks_secret(element):
                secret_forms += 1
                forms.append(self._form(element, heading))
            elif element.tag in _FIELD_TAGS and not _inside(element, "form"):
                fld = self._field(element)
                if fld is not None and count < MAX_FIELDS:
                    count += 1
                    loose.setdefault(_block_of(element), (heading, []))[1].append(fld)
        if len(forms) >= MAX_FORMS:
            self.capped[
                f"only the first {MAX_FORMS} forms of the page, and of its forms with a password "
                "or token field, were read"
            ] = None
        for block, (above, fields) in loose.items():
            text = _text_of(block)[:MAX_TEXT_CHARS] if block is not None else ""
            forms.append(Form("", "", tuple(fields), text, loose=True, heading=above))
        return forms

    def _form(self, element: etree._Element, heading: str) -> Form:
        fields = []
        for child in element.iter(*_FIELD_TAGS):
            fld = self._field(child)
            if fld is not None:
                fields.append(fld)
            if len(fields) >= MAX_FIELDS:
                break
        action = (element.get("action") or "").strip()
        try:
            absolute = urljoin(self.base, action) if action else self.url
        except ValueError:
            absolute = self.url
        return Form(
            action=absolute,
            method=(element.get("method") or "get").strip().lower(),
            fields=tuple(fields),
            text=_text_of(element)[:MAX_TEXT_CHARS],
            heading=heading,
        )

    def _field(self, element: etree._Element) -> FormField | None:
        tag = str(element.tag).lower()
        kind = (element.get("type") or ("text" if tag == "input" else tag)).strip().lower()
        if kind in {"hidden", "submit", "button", "reset", "image", "checkbox", "radio"}:
            return None
        ident = (element.get("id") or "").strip()
        label_parts = [
            self.labels.get(ident, "") if ident else "",
            _wrapping_label(element),
            element.get("placeholder") or "",
            element.get("aria-label") or "",
            element.get("title") or "",
            *self._referenced_text(element, "aria-labelledby"),
            *self._referenced_text(element, "aria-describedby"),
        ]
        return FormField(
            tag=tag,
            type=kind,
            name=(element.get("name") or "").strip()[:MAX_LABEL_CHARS],
            id=ident[:MAX_LABEL_CHARS],
            autocomplete=(element.get("autocomplete") or "").strip().lower()[:MAX_LABEL_CHARS],
            label=" ".join(p.strip() for p in label_parts if p and p.strip())[:MAX_LABEL_CHARS],
        )

    def _referenced_text(self, element: etree._Element, attribute: str) -> list[str]:
        """The text of the elements an `aria-labelledby` or `aria-describedby` names."""
        idents = (element.get(attribute) or "").split()[:8]
        return [_text_of(self.ids.get(i))[:MAX_LABEL_CHARS] for i in idents if i in self.ids]


def srcset_urls(value: str) -> list[str]:
    """The URLs of a `srcset` candidate list, split as the HTML standard does: a candidate is a
    URL up to white space, then descriptors up to a comma outside parentheses."""
    urls: list[str] = []
    position, length = 0, len(value)
    while position < length and len(urls) < MAX_SRCSET_CANDIDATES:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while position < length and (value[position] != "," or depth):
                depth += {"(": 1, ")": -1 if depth else 0}.get(value[position], 0)
                position += 1
        if url:
            urls.append(url[:MAX_URL_CHARS])
    return urls


def css_urls(css: str) -> Iterator[str]:
    """The URLs a piece of CSS fetches: `url(...)` and `@import "..."`, comments skipped."""
    for match in _CSS_URL.finditer(_without_css_comments(css)):
        url = next((g for g in match.groups() if g is not None), "")
        if url.strip():
            yield url.strip()


def _without_css_comments(css: str) -> str:
    parts: list[str] = []
    start = 0
    while True:
        opening = css.find("/*", start)
        if opening < 0:
            parts.append(css[start:])
            break
        parts.append(css[start:opening])
        closing = css.find("*/", opening + 2)
        if closing < 0:
            break
        start = closing + 2
    return " ".join(parts)


def _element_policy(element: etree._Element) -> str | None:
    if element.tag == "source":
        # A <source> in a <picture> is fetched by the picture's <img>, with the img's policy
        # (libxml2 does not know <source> is empty and may nest the <img> inside it).
        picture = next(element.iterancestors("picture"), None)
        image = picture.find(".//img") if picture is not None else None
        return _element_policy(image) if image is not None else None
    policy = (element.get("referrerpolicy") or "").strip().lower()
    if policy:
        return policy
    if "noreferrer" in (element.get("rel") or "").lower().split():
        return "no-referrer"
    return None


def _text_of(element: etree._Element | None) -> str:
    if element is None:
        return ""
    pieces: list[str] = []
    size = 0
    for piece in element.itertext():
        pieces.append(str(piece))
        size += len(piece)
        if size > MAX_TEXT_CHARS:
            break
    return " ".join(" ".join(pieces).split())


def _inside(element: etree._Element, tag: str) -> bool:
    return any(True for _ in element.iterancestors(tag))


def _block_of(element: etree._Element) -> etree._Element | None:
    for ancestor in element.iterancestors():
        if ancestor.tag in _BLOCK_TAGS:
            return ancestor
    return None


def _wrapping_label(element: etree._Element) -> str:
    for ancestor in element.iterancestors("label"):
        return _text_of(ancestor)[:MAX_LABEL_CHARS]
    return ""


def loaded_resources(exchange: Exchange) -> list[str]:
    """Absolute http(s) URLs of the scripts, stylesheets and frames the page loads, in document
    order, without repeats."""
    page = page_of(exchange)
    if page is None:
        return []
    urls: dict[str, None] = {}
    for reference in page.references:
        rels = set(reference.rel.split())
        frame_or_script = reference.tag in {"script", "iframe", "frame"}
        style = reference.tag == "link" and bool(rels & {"stylesheet", "modulepreload"})
        if reference.loads and (frame_or_script or style):
            urls[reference.url.split("#", 1)[0]] = None
    return list(urls)


_SECRET_WORDS: Final = re.compile(r"passw|token|secret|api[\s_-]?key", re.IGNORECASE)


def _asks_secret(form: etree._Element) -> bool:
    """A form with a password input, or a field named or labelled for a token or secret: kept
    past the form cap (bounded: the first MAX_FIELDS fields are looked at)."""
    for count, field_element in enumerate(form.iter(*_FIELD_TAGS)):
        if count >= MAX_FIELDS:
            break
        if (field_element.get("type") or "").lower() == "password":
            return True
        words = " ".join(field_element.get(a) or "" for a in ("name", "id", "placeholder"))
        if _SECRET_WORDS.search(words):
            return True
    return False


# Script types that hold markup a framework renders, not code: text/x-template (Vue),
# text/html (Knockout, Angular), text/ng-template, text/x-handlebars-template, text/x-tmpl.
_TEMPLATE_TYPE: Final = re.compile(r"template|html|handlebars|mustache|tmpl")


def _parse_fragment(markup: str) -> etree._Element | None:
    parser = etree.HTMLParser(
        recover=True, no_network=True, remove_comments=True, remove_pis=True, encoding="utf-8"
    )
    try:
        return etree.fromstring(f"<div>{markup}</div>".encode(), parser)
    except (etree.LxmlError, ValueError):
        return None
