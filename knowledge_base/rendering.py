"""Article Markdown -> sanitised HTML: one function for the published page
and the editor's live preview, so the preview shows exactly what readers
will get.

The project's Markdown sanitiser (`helpdesk.lib.markdown`, nh3) plus one
extra tag: `<img>`, only with a `src` of an image uploaded into the
knowledge base (`/kb/images/<token>/`); any other image source is removed,
so articles never load third-party content (and the CSP stays strict).
"""

import re

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

from helpdesk.lib.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, ALLOWED_URL_SCHEMES, EXTENSIONS

IMAGE_SRC_RE = re.compile(r"^/kb/images/[A-Za-z0-9_-]{8,64}/$")
_TAGS = ALLOWED_TAGS | {"img"}
_ATTRIBUTES = {**ALLOWED_ATTRIBUTES, "img": {"src", "alt", "title"}}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not IMAGE_SRC_RE.match(value):
        return None
    return value


def render_article_markdown(text: str) -> SafeString:
    """Markdown source -> sanitised HTML (the published and preview path)."""
    html = md.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
        attribute_filter=_attribute_filter,
    )
    # An <img> whose src was removed is useless: drop it.
    cleaned = re.sub(r"<img(?![^>]*\bsrc=)[^>]*>", "", cleaned)
    return mark_safe(cleaned)  # nh3 output: allow-listed tags only
