"""The metric definitions shipped in docs/ (docs/metrics.md and friends),
rendered in the product so a manager reads what a number means where the
number is (the dashboard's "What is this?" links here)."""

import re
from pathlib import Path

import markdown as md
import nh3
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

# page slug -> file in docs/ (only these are served)
PAGES = {
    "metrics": "metrics.md",
    "metrics-examples": "metrics-examples.md",
    "surveys": "surveys.md",
    "customer-success": "customer-success.md",
}
HEADINGS = {"h1", "h2", "h3", "h4"}
TAGS = {"a", "b", "blockquote", "br", "code", "em", "hr", "i", "li", "ol", "p", "pre", "strong", "table", "tbody",
        "td", "th", "thead", "tr", "ul", *HEADINGS}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, **{h: {"id"} for h in HEADINGS}}
DOC_LINK = re.compile(r'href="(?:docs/)?([\w-]+)\.md(#[\w-]*)?"')


def github_slug(value: str, separator: str = "-") -> str:
    """Heading ids as GitHub makes them, so docs/metrics.md#m1-... anchors
    work both in the repository and here."""
    value = re.sub(r"[^\w\s-]", "", value.strip().lower())
    return value.replace(" ", separator)


def page_url(docs: str) -> str | None:
    """`docs/metrics.md#m1-...` -> the in-product URL, or None."""
    from django.urls import reverse

    match = re.fullmatch(r"docs/([\w-]+)\.md(#[\w-]*)?", docs or "")
    if not match or match.group(1) not in PAGES:
        return None
    return reverse("metrics-dashboard:definitions", args=[match.group(1)]) + (match.group(2) or "")


def _link(match: re.Match[str]) -> str:
    url = page_url(f"docs/{match.group(1)}.md{match.group(2) or ''}")
    return f'href="{url}"' if url else 'href="#"'


def page_html(slug: str) -> SafeString | None:
    name = PAGES.get(slug)
    if name is None:
        return None
    text = (Path(settings.BASE_DIR) / "docs" / name).read_text(encoding="utf-8")
    html = md.markdown(
        text,
        extensions=["fenced_code", "tables", "sane_lists", "toc"],
        extension_configs={"toc": {"slugify": github_slug}},
        output_format="html",
    )
    html = DOC_LINK.sub(_link, html)
    cleaned = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"})
    return mark_safe(cleaned)  # our own docs, through the same allow-list sanitiser
