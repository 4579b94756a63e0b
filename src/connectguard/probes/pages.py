"""What an HTML page loads: the scripts, stylesheets and frames a browser would fetch with it."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from connectguard.model import Exchange


class _ResourceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        if tag in {"script", "iframe", "frame"} and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and values.get("href"):
            rel = values.get("rel", "").lower().split()
            if "stylesheet" in rel or "modulepreload" in rel:
                self.urls.append(values["href"])


def loaded_resources(exchange: Exchange) -> list[str]:
    """Absolute http(s) URLs of what the page loads, in document order, without repeats."""
    content_type = ";".join(exchange.header("Content-Type")).lower()
    if content_type and "html" not in content_type:
        return []
    parser = _ResourceParser()
    try:
        parser.feed(exchange.text)
        parser.close()
    except (AssertionError, ValueError):
        pass
    urls: dict[str, None] = {}
    for raw in parser.urls:
        url = urljoin(exchange.url, raw).split("#", 1)[0]
        if urlsplit(url).scheme in {"http", "https"}:
            urls[url] = None
    return list(urls)
