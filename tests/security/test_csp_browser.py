"""Real Chromium under the enforced Content-Security-Policy: a customer, an
agent, a manager and an admin log in through the login page and visit every
main page. Each page must carry the strict policy and the Permissions-Policy,
the browser must report zero CSP violations (a `securitypolicyviolation`
listener installed before any page script, plus the console), and the
interactive features must still work: KB suggestions while typing, the
keyboard shortcuts, an htmx request, the dashboard charts, the admin and the
Swagger UI. A canary proves the listener sees what the policy blocks."""

import re

import pytest
from playwright.sync_api import BrowserContext, Page

from accounts.models import User
from knowledge_base import services as kb_services
from tests.factories import QueueFactory, ticket_make
from tests.security.policy import directives
from tickets.models import RequestType

PASSWORD = "pw-Secret-123"

# Installed in every document before its own scripts run.
LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""


class Visitor:
    """One role's browser context, collecting violations and console noise."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.base = base
        self.page: Page = context.new_page()
        self.problems: list[str] = []
        context.add_init_script(LISTENER)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, msg) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Permissions-Policy" in text or "Unrecognized feature" in text:
            self.problems.append(f"console: {text}")

    def login(self, email: str, landing: str) -> None:
        self.visit("/accounts/login/")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(re.compile(landing))
        self.settle()

    def visit(self, path: str, *, docs: bool = False) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        policy = response.header_value("content-security-policy") or ""
        assert_strict(policy, path, docs=docs)
        permissions = response.header_value("permissions-policy") or ""
        assert "camera=()" in permissions and "microphone=()" in permissions, (path, permissions)
        assert "geolocation=()" in permissions and "payment=()" in permissions, (path, permissions)
        self.settle()

    def settle(self) -> None:
        """Let deferred scripts run, then collect this document's violations."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(150)
        self.problems += [f"{self.page.url}: {v}" for v in self.page.evaluate("window.__csp || []")]
        self.page.evaluate("window.__csp = []")


@pytest.fixture
def new_context(browser):
    """Fresh browser contexts, closed after the test so no page keeps polling
    the live server (and holding database connections) during teardown."""
    opened: list[BrowserContext] = []

    def make() -> BrowserContext:
        opened.append(browser.new_context())
        return opened[-1]

    yield make
    for context in opened:
        context.close()


def assert_strict(policy: str, path: str, *, docs: bool = False) -> None:
    found = directives(policy)
    assert found.get("default-src") == "'self'", (path, policy)
    assert found.get("script-src") == "'self'", (path, policy)
    assert found.get("object-src") == "'none'", (path, policy)
    assert found.get("base-uri") == "'none'", (path, policy)
    assert found.get("frame-ancestors") == "'none'", (path, policy)
    assert found.get("form-action") == "'self'", (path, policy)
    assert "unsafe-eval" not in policy, (path, policy)
    if not docs:  # only the third-party API docs may use inline styles
        assert found.get("style-src") == "'self'", (path, policy)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_main_page_runs_under_the_strict_csp(live_server, new_context):
    support = QueueFactory(slug="tech", name="Tech support", kind="support")
    RequestType.objects.create(slug="tech", name="Technical problem", queue=support)
    customer = User.objects.create_user(email="ann@example.com", password=PASSWORD, role="customer", name="Ann")
    agent = User.objects.create_user(email="alice@acme.test", password=PASSWORD, role="agent", name="Alice")
    manager = User.objects.create_user(email="boss@acme.test", password=PASSWORD, role="manager", name="Boss")
    User.objects.create_superuser(email="root@acme.test", password=PASSWORD)
    support.members.add(agent)
    tickets = [ticket_make(queue=support, requester=customer, subject=f"Printer jam {i}") for i in range(2)]
    article = kb_services.article_create(
        title="Reset your password", body="Open **Settings**, then *Reset password*.", actor=manager
    )
    article = kb_services.article_publish(article_id=article.pk, actor=manager)
    base = live_server.url

    # Canary: an inline script is blocked and the listener sees it.
    anon = Visitor(new_context(), base)
    anon.visit("/accounts/login/")
    anon.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    anon.page.wait_for_timeout(100)
    assert anon.page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in anon.page.evaluate("window.__csp")), "listener saw no violation"
    assert any("Content Security Policy" in p for p in anon.problems), "console showed no violation"
    anon.page.evaluate("window.__csp = []")
    anon.problems.clear()
    anon.visit("/accounts/signup/")
    anon.visit("/accounts/magic-link/")

    # Customer: portal list, new request (KB suggestions while typing), ticket page, KB.
    cust = Visitor(new_context(), base)
    cust.login("ann@example.com", r"/portal/")
    cust.visit("/portal/")
    cust.visit("/portal/new/")
    cust.page.get_by_label("Subject").press_sequentially("How do I reset my passw", delay=30)
    cust.page.locator("#kb-suggestions a", has_text="Reset your password").wait_for(timeout=5000)
    cust.settle()
    cust.visit(f"/portal/tickets/{tickets[0].pk}/")
    cust.visit("/kb/")
    cust.visit(f"/kb/a/{article.slug}/")
    cust.visit("/kb/search/?q=password")
    assert cust.page.get_by_text("Reset your password").count() >= 1
    cust.visit("/mail/preferences/")
    assert cust.problems == [], "\n".join(cust.problems)

    # Agent: list (j selects a row), ticket page (? help, htmx KB search), my stats, KB staff list.
    ag = Visitor(new_context(), base)
    ag.login("alice@acme.test", r"/agent/tickets/")
    ag.visit("/agent/tickets/?view=all")
    ag.page.locator("h1").click()
    ag.page.keyboard.press("j")
    assert "is-selected" in (ag.page.locator("tr[data-row]").first.get_attribute("class") or "")
    ag.visit(f"/agent/tickets/{tickets[0].pk}/")
    ag.page.locator("h1").click()
    ag.page.keyboard.press("?")
    assert ag.page.locator("#shortcut-help").is_visible()
    ag.page.keyboard.press("Escape")
    ag.page.get_by_text("Insert a KB article link").click()
    with ag.page.expect_request(re.compile(r"/agent/kb-links/")) as htmx_request:
        ag.page.locator("#kb-query").press_sequentially("password", delay=20)
    assert htmx_request.value.headers.get("hx-request") == "true"
    ag.page.locator("#kb-results", has_text="Reset your password").wait_for(timeout=5000)
    ag.page.locator("#kb-results button[data-insert-link]").click()  # workspace.js inserts the link
    assert "/kb/a/" in ag.page.locator("#reply-form textarea[name=body]").input_value()
    ag.settle()
    ag.visit("/agent/my-stats/")
    ag.visit("/kb/manage/")
    assert ag.problems == [], "\n".join(ag.problems)

    # Manager: the dashboard draws its charts with Chart.js.
    boss = Visitor(new_context(), base)
    boss.login("boss@acme.test", r"/")
    boss.visit("/manager/dashboard/")
    assert boss.page.evaluate("!!Chart.getChart(document.getElementById('chart-volume'))")
    boss.page.select_option("#id_range", "last90")  # dashboard.js submits on change
    boss.page.wait_for_url(re.compile(r"range=last90"))
    boss.settle()
    boss.visit("/kb/manage/new/")
    boss.visit("/kb/manage/report/")
    assert boss.problems == [], "\n".join(boss.problems)

    # Admin: index, a change list and an add form with the admin's own scripts.
    root = Visitor(new_context(), base)
    root.login("root@acme.test", r"/")
    root.visit("/admin/")
    root.visit("/admin/tickets/queue/")
    root.visit("/admin/tickets/queue/add/")
    # Swagger UI (its own, scoped policy) renders the schema.
    root.visit("/api/v1/docs/")
    root.page.locator(".swagger-ui .info .title").wait_for(timeout=15000)
    root.page.locator(".opblock-tag").first.wait_for(timeout=15000)
    root.settle()
    assert root.problems == [], "\n".join(root.problems)
    root.visit("/api/v1/redoc/", docs=True)
    root.page.locator(".api-info h1, .api-content h1").first.wait_for(timeout=15000)
    root.page.wait_for_timeout(500)  # Redoc starts its search worker after drawing
    root.settle()
    # Redoc's "powered by" logo is an image on Redocly's CDN: blocked on purpose
    # (no third-party requests); everything else must pass.
    root.problems = [p for p in root.problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p]
    assert root.problems == [], "\n".join(root.problems)
    assert anon.problems == [], "\n".join(anon.problems)
