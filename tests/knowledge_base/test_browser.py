"""Real Chromium: a customer types a subject on the portal's new-request
page, sees a suggested article, opens it and marks it helpful."""

import json
from pathlib import Path

import pytest
from django.test import Client

from knowledge_base.models import ArticleFeedback, DeflectionEvent
from tickets.models import RequestType

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_sees_suggestion_opens_it_and_marks_helpful(live_server, page, article_make, customer, queue):
    RequestType.objects.create(slug="tech", name="Technical problem", queue=queue)
    article = article_make("Reset your password", "Open **Settings**, then choose *Reset password*.")
    article_make("Billing address change", "Update the address on the billing page.")
    client = Client()
    client.force_login(customer)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/portal/new/")
    page.get_by_label("Subject").press_sequentially("How do I reset my passw", delay=40)
    suggestion = page.locator("#kb-suggestions a", has_text="Reset your password")
    suggestion.wait_for(timeout=5000)
    assert page.locator("#kb-suggestions").inner_text().count("Billing address change") == 0
    timings = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/kb/suggest/')).map(e => e.duration)"
    )
    page.screenshot(path=str(ARTIFACTS / "kb_portal_suggestion.png"), full_page=True)

    with page.context.expect_page() as opened:
        suggestion.click()
    article_page = opened.value
    article_page.wait_for_load_state()
    assert article_page.locator("#article-title").inner_text() == "Reset your password"
    article_page.get_by_label("Comment (optional)").fill("Solved it, thanks")
    article_page.get_by_role("button", name="Yes").click()
    article_page.get_by_text("Thank you for your feedback.").wait_for(timeout=5000)
    article_page.screenshot(path=str(ARTIFACTS / "kb_article_helpful.png"), full_page=True)

    feedback = ArticleFeedback.objects.get(article=article)
    assert (feedback.user_id, feedback.helpful, feedback.comment) == (customer.pk, True, "Solved it, thanks")
    event = DeflectionEvent.objects.get(article=article)
    assert event.user_id == customer.pk and event.query.startswith("how do i reset")
    assert timings, "no suggestion request was observed"
    (ARTIFACTS / "kb_suggest_roundtrip.json").write_text(
        json.dumps({"suggest_requests": len(timings), "durations_ms": [round(t, 1) for t in timings]})
    )
