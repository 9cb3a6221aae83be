"""Real Chromium (issue 19): a manager writes an article with the live
preview and an uploaded image and publishes it; a customer then finds it
with a misspelt subject on the new-request form, picks it with the
keyboard, and sees the article with its image (deflection recorded)."""

import struct
import time
import zlib
from pathlib import Path

import pytest
from django.test import Client

from knowledge_base.models import Article, ArticleImage, DeflectionEvent
from tickets.models import RequestType

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _wait_until(locator, predicate, timeout_s=5.0):
    """Poll `predicate` on the element. Not page.wait_for_function: it compiles
    its expression with eval, which the pages' CSP (script-src 'self') refuses;
    locator.evaluate is called through the debugger protocol instead."""
    deadline = time.monotonic() + timeout_s
    while not locator.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.1)


def png(width=120, height=60):
    """A small visible PNG (a blue block), built by hand: no image library."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x25\x63\xeb" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def login(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_write_with_preview_and_image_publish_then_customer_finds_it_misspelt(
    live_server, page, manager, customer, queue, article_make, tmp_path
):
    RequestType.objects.create(slug="tech", name="Technical problem", queue=queue)
    article_make("Billing address change", "Update the address on the billing page.")
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # The manager writes: the preview follows the text, sanitised.
    login(page, live_server, manager)
    page.goto(f"{live_server.url}/kb/manage/new/")
    page.get_by_label("Title").fill("Calibrating the gyroscope")
    body = page.get_by_label("Body")
    body.fill("**Align** the gyroscope before the first flight. <script>alert(1)</script>")
    page.locator("#kb-preview strong", has_text="Align").wait_for(timeout=5000)
    assert page.locator("#kb-preview script").count() == 0
    page.locator("#kb-save").click()
    page.wait_for_url("**/kb/manage/*/edit/")

    # Image upload goes into the text at the cursor and shows in the preview.
    image_file = tmp_path / "gyro.png"
    image_file.write_bytes(png())
    page.locator("#kb-image").set_input_files(str(image_file))
    page.get_by_role("button", name="Upload image").click()
    _wait_until(page.locator("#id_body"), "el => el.value.includes('![gyro](/kb/images/')")
    preview_image = page.locator("#kb-preview img")
    preview_image.wait_for(timeout=5000)
    _wait_until(preview_image, "img => img.naturalWidth > 0")
    page.locator("#kb-save").click()
    page.get_by_text("Saved.").wait_for(timeout=5000)
    page.locator("#kb-publish").click()
    page.get_by_text("Published.").wait_for(timeout=5000)
    page.screenshot(path=str(ARTIFACTS / "kb_editor_published.png"), full_page=True)
    article = Article.objects.get(title="Calibrating the gyroscope")
    image = ArticleImage.objects.get(article=article)
    assert article.is_published and f"/kb/images/{image.token}/" in article.body_html

    # A customer types a misspelt subject; the suggestion is chosen by keyboard.
    login(page, live_server, customer)
    page.goto(f"{live_server.url}/portal/new/")
    subject = page.get_by_label("Subject")
    subject.press_sequentially("gyroskope calibraton", delay=30)
    suggestion = page.locator("#kb-suggestions .kb-suggestion", has_text="Calibrating the gyroscope")
    suggestion.wait_for(timeout=5000)
    assert "Billing address change" not in page.locator("#kb-suggestions").inner_text()
    assert page.locator("#kb-suggestions .kb-suggestion").count() <= 5
    subject.press("ArrowDown")
    assert page.locator("#kb-suggestions .kb-suggestion").first.get_attribute("aria-selected") == "true"
    with page.context.expect_page() as opened:
        subject.press("Enter")
    article_page = opened.value
    article_page.wait_for_load_state()
    assert article_page.locator("#article-title").inner_text() == "Calibrating the gyroscope"
    _wait_until(article_page.locator(".kb-body img"), "img => img.naturalWidth === 120")
    article_page.screenshot(path=str(ARTIFACTS / "kb_customer_found_misspelt.png"), full_page=True)
    event = DeflectionEvent.objects.get(article=article)
    assert event.user_id == customer.pk and event.query == "gyroskope calibraton"
    assert page.url.endswith("/portal/new/")  # the request form stayed open, nothing submitted
    assert not [e for e in errors if "Content Security Policy" in e], errors
