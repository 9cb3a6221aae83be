"""User text -> safe HTML. Markdown is rendered, then every tag, attribute
and URL scheme outside a small allow-list is removed by nh3 (ammonia).

Raw HTML inside Markdown is allowed through Markdown but always passes the
same sanitiser, so `<script>`, event handlers, `javascript:` links and
inline styles never reach the page.
"""

import functools
import hashlib
import importlib.metadata
import threading
from collections import OrderedDict

import markdown as md
import nh3
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """The allow-list, built once: nh3.clean() builds it on every call (about
    six times the cost of the cleaning itself for a short message)."""
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )


def sanitize_html(html: str) -> SafeString:
    """Strip everything outside the allow-list; links get rel=noopener etc."""
    return mark_safe(_cleaner().clean(html))  # nh3 output: allow-listed tags only


_converters = threading.local()


def _markdown(text: str) -> str:
    """md.markdown(text, ...) on a Markdown instance kept per thread and
    reset between texts: building one (loading the extensions) cost about
    three quarters of converting a short message. Not shared between
    threads: a conversion keeps state on the instance."""
    converter = getattr(_converters, "md", None)
    if converter is None:
        converter = _converters.md = md.Markdown(extensions=EXTENSIONS, output_format="html")
    try:
        return str(converter.reset().convert(text))
    except Exception:
        _converters.md = None  # a half-converted instance is not reused
        raise


def render_markdown(text: str) -> SafeString:
    """Markdown source -> sanitised HTML."""
    return sanitize_html(_markdown(text or ""))


def render_body(text: str, body_format: str = "markdown") -> SafeString:
    """Render a message body by its stored format (markdown, plain, html)."""
    if body_format == "plain":
        return mark_safe(linebreaks(escape(text or "")))  # escaped first
    if body_format == "html":
        return sanitize_html(text or "")
    return render_markdown(text)


class RenderedBodies:
    """Rendered bodies of this process by a digest of (format, text), least
    recently used out first once they hold more than `max_chars`.

    The key is the content, so an entry never goes stale: an edited or
    redacted body is another key, and the old entry ages out. A change of
    the renderer (allow-list, extensions, library versions) must change
    RENDERER, which is part of every key.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self._items: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, body_format: str) -> bytes:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"{RENDERER}\0{body_format}\0".encode())
        digest.update((text or "").encode("utf-8", "surrogatepass"))
        return digest.digest()

    def get(self, key: bytes) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: bytes, value: str) -> None:
        if len(value) > self.max_chars // 8:
            return  # one huge body would push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            self.chars += len(value) - (len(old) if old is not None else 0)
            self._items[key] = value
            while self.chars > self.max_chars:
                _, dropped = self._items.popitem(last=False)
                self.chars -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.chars = 0


# Part of every cache key: change it with ALLOWED_*, EXTENSIONS or render_body.
RENDERER = f"1/markdown {md.__version__}/nh3 {importlib.metadata.version('nh3')}"
RENDERED = RenderedBodies(max_chars=8 * 1024 * 1024)


def render_body_cached(text: str, body_format: str = "markdown") -> SafeString:
    """render_body, kept per process by content (RenderedBodies): a ticket
    page shows every message of the ticket on every view, and Markdown plus
    sanitising is the largest per-message cost (bench/TICKET_PAGE.md)."""
    key = RenderedBodies.key(text, body_format)
    html = RENDERED.get(key)
    if html is None:
        html = str(render_body(text, body_format))
        RENDERED.set(key, html)
    return mark_safe(html)  # stored from render_body's sanitised output only
