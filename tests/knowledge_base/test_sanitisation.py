"""XSS payloads in article titles and bodies never become live HTML: on the
article page, the search page, the suggestion fragment or the history diff."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

PAYLOADS = [
    "<script>alert('x1')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=\"alert('x2')\">",
    "<body onload=alert('x3')>",
    "<a href=\"javascript:alert('x4')\">click</a>",
    "[md link](javascript:alert('x5'))",
    '<a href="JaVaScRiPt:alert(1)">mixed case</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    "<svg onload=alert('x6')><circle r=1 /></svg>",
    "<svg><script>alert('x7')</script></svg>",
    "<div style=\"width: expression(alert('x8'))\">css</div>",
    "<style>body { background: url(javascript:alert(1)) }</style>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '"><img src=x onerror=alert(9)>',
    "<details open ontoggle=alert(10)>",
    '<object data="data:text/html,<script>alert(11)</script>"></object>',
]
# Our own static scripts (the editor page loads kb-editor.js since issue 19).
OWN_SCRIPTS = {"/static/js/kb-suggest.js", "/static/js/kb-editor.js"}
FORBIDDEN_TAGS = {"script", "svg", "math", "iframe", "object", "embed", "style", "body", "details", "img", "base"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.bodies = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src") in OWN_SCRIPTS:
            return
        if tag == "body" and self.bodies == 0:  # the page's own <body>
            self.bodies += 1
            return
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            v = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name in ("href", "src", "action", "data", "formaction") and v.startswith(("javascript:", "data:")):
                self.problems.append(f"{name}={value!r} on <{tag}>")


def assert_no_live_html(html: str) -> None:
    collector = _Collector()
    collector.feed(html)
    assert collector.problems == []


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_title_and_body_is_inert_everywhere(payload, article_make, client_for, manager):
    """The payload is stored, but every page that shows it renders it inert."""
    article = article_make(f"Reset password {payload}", f"Reset password body {payload}\n\nmore text")
    anon = client_for(None)
    for url in (
        reverse("knowledge_base:article", args=[article.slug]),
        reverse("knowledge_base:search") + "?q=reset+password",
        reverse("knowledge_base:suggest") + "?q=reset+passw",
        reverse("knowledge_base:home"),
    ):
        response = anon.get(url)
        assert response.status_code == 200, url
        assert "Reset password" in response.content.decode()
        assert_no_live_html(response.content.decode())
    staff = client_for(manager)
    for url in (
        reverse("knowledge_base:staff-history", args=[article.pk]),
        reverse("knowledge_base:staff-edit", args=[article.pk]),
        reverse("knowledge_base:staff-list"),
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert_no_live_html(response.content.decode())


@pytest.mark.django_db
def test_search_query_itself_is_escaped(client_for, article_make):
    article_make("Printer setup", "How to set up the printer")
    response = client_for(None).get(reverse("knowledge_base:search"), {"q": "<script>alert(1)</script> printer"})
    assert response.status_code == 200
    assert_no_live_html(response.content.decode())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()


@pytest.mark.django_db
def test_markdown_still_renders_allowed_formatting(article_make, client_for):
    article = article_make("Formatting", "**bold** and [docs](https://example.com/docs)\n\n- one\n- two")
    body = article.body_html
    assert "<strong>bold</strong>" in body
    assert 'href="https://example.com/docs"' in body
    assert "<li>one</li>" in body


@pytest.mark.django_db
def test_snippet_with_payload_in_body_only_adds_mark(article_make, client_for):
    """Snippets come from ts_headline over the plain text; only <mark> is added."""
    article_make("Invoice help", "invoice &lt;script&gt;alert(1)&lt;/script&gt; invoice `<b onmouseover=x>` invoice")
    response = client_for(None).get(reverse("knowledge_base:search"), {"q": "invoice"})
    html = response.content.decode()
    assert "<mark>invoice</mark>" in html
    assert_no_live_html(html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_checker_catches_each_raw_payload(payload):
    """The checker above is not vacuous: each payload, unsanitised, fails it."""
    collector = _Collector()
    collector.feed(f"<html><body><p>{payload}</p></body></html>" if "[md link]" not in payload else "")
    assert collector.problems or "[md link]" in payload
