"""User text -> safe HTML. Markdown is rendered, then every tag, attribute
and URL scheme outside a small allow-list is removed by nh3 (ammonia).

Raw HTML inside Markdown is allowed through Markdown but always passes the
same sanitiser, so `<script>`, event handlers, `javascript:` links and
inline styles never reach the page.
"""

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


def sanitize_html(html: str) -> SafeString:
    """Strip everything outside the allow-list; links get rel=noopener etc."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )
    return mark_safe(cleaned)  # nh3 output: allow-listed tags only


def render_markdown(text: str) -> SafeString:
    """Markdown source -> sanitised HTML."""
    return sanitize_html(md.markdown(text or "", extensions=EXTENSIONS, output_format="html"))


def render_body(text: str, body_format: str = "markdown") -> SafeString:
    """Render a message body by its stored format (markdown, plain, html)."""
    if body_format == "plain":
        return mark_safe(linebreaks(escape(text or "")))  # escaped first
    if body_format == "html":
        return sanitize_html(text or "")
    return render_markdown(text)
