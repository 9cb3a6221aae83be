"""Find user-visible text in a template that is not marked for translation.

Text counts as marked inside {% translate %} / {% blocktranslate %} (or their
old names). Everything else a reader sees is reported: text between tags,
the title/placeholder/aria-label/alt attributes, and quoted literals passed
to {% include ... with x="..." %}. docs/languages.md says how to mark."""

import html
import re
from pathlib import Path

# Written the same in every shipped language: acronyms and product names.
ALLOWED_WORDS = {
    "API",
    "CSV",
    "CSAT",
    "CES",
    "NPS",
    "FRT",
    "SLA",
    "SLAs",
    "ID",
    "OK",
    "JSON",
    "HTML",
    "URL",
    "TOTP",
    "OIDC",
    "KB",
    "p50",
    "p90",
    "p95",
    "CC",
    "CCs",
    "Bcc",
    "E-mail",
    "IMAP",
    "SMTP",
    "UTC",
    "AHT",
    "FCR",
}

_DROP = [
    re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S),
    re.compile(r"{#.*?#}", re.S),
    re.compile(r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}", re.S),
    re.compile(r"<script\b.*?</script>", re.S | re.I),
    re.compile(r"<style\b.*?</style>", re.S | re.I),
    # The page's CSS class, not text.
    re.compile(r"{%\s*block\s+body_class\s*%}.*?{%\s*endblock\s*%}", re.S),
]
_ATTR = re.compile(r"""\b(?:title|placeholder|aria-label|alt)\s*=\s*(["'])(.*?)\1""", re.S | re.I)
_INCLUDE_LITERAL = re.compile(r"""{%\s*include\b[^%]*?\bwith\b([^%]*)%}""", re.S)
_WITH_VALUE = re.compile(r"""\w+\s*=\s*"([^"]*)\"""")
_TAG_OR_VAR = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_HTML_TAG = re.compile(r"<[^>]*>", re.S)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _visible(text: str) -> bool:
    words = [w for w in _WORD.findall(html.unescape(text)) if len(w) > 1 or w.isupper()]
    return any(w not in ALLOWED_WORDS for w in words if len(w) > 1)


def _include_literals(source: str) -> list[str]:
    values = [v for args in _INCLUDE_LITERAL.findall(source) for v in _WITH_VALUE.findall(args)]
    # Template names and CSS classes are lower-case identifiers; text has a space or a capital.
    return [v for v in values if (" " in v or v[:1].isupper()) and _visible(v)]


def unmarked_strings(path: Path) -> list[str]:
    """The unmarked visible strings of one template, in order."""
    source = path.read_text()
    for pattern in _DROP:
        source = pattern.sub(" ", source)
    found = _include_literals(source)
    for _quote, value in _ATTR.findall(source):
        value = _TAG_OR_VAR.sub(" ", value)
        if _visible(value):
            found.append(value.strip())
    text = _TAG_OR_VAR.sub("\n", source)
    if path.suffix == ".html":
        text = _HTML_TAG.sub("\n", text)
    found += [chunk.strip() for chunk in text.split("\n") if _visible(chunk)]
    return found
