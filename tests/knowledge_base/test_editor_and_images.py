"""Issue 19, the editor side: live preview sanitised exactly as published,
images uploaded into articles (content checks, access rules), synonyms and
categories pages, review reminders, chosen related articles, and the
empty-result page with the prefilled request form."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from knowledge_base import services
from knowledge_base.models import Article, ArticleImage, Category, SearchLog, SynonymGroup
from knowledge_base.rendering import render_article_markdown
from tickets.models import RequestType

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
NASTY = (
    "Hello <script>alert(1)</script> <img src=x onerror=alert(2)> ![ext](https://evil.example/t.png) "
    "[x](javascript:alert(3)) **bold** ![ok](/kb/images/abcdefgh1234/)"
)


def upload(client, article, name="shot.png", content=PNG, json=True):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(
        reverse("knowledge_base:staff-image-upload", args=[article.pk]),
        {"image": SimpleUploadedFile(name, content, content_type="image/png")},
        **headers,
    )


@pytest.mark.django_db
def test_preview_is_exactly_the_published_rendering(client_for, agent, article_make):
    response = client_for(agent).post(reverse("knowledge_base:staff-preview"), {"body": NASTY})
    assert response.status_code == 200
    html = response.content.decode()
    assert str(render_article_markdown(NASTY)) in html
    assert "<script" not in html and "onerror" not in html and "evil.example" not in html
    assert "javascript:" not in html and "<strong>bold</strong>" in html
    assert '<img alt="ok" src="/kb/images/abcdefgh1234/">' in html
    article = article_make("Nasty", NASTY)
    assert article.body_html == str(render_article_markdown(NASTY))


@pytest.mark.django_db
def test_preview_is_for_staff_only(client_for, customer):
    assert client_for(customer).post(reverse("knowledge_base:staff-preview"), {"body": "x"}).status_code == 404


@pytest.mark.django_db
def test_image_access_follows_the_article(client_for, manager, agent, customer, article_make):
    article = article_make("With image", "Body", publish=False)
    response = upload(client_for(manager), article)
    assert response.status_code == 200, response.content
    markdown = response.json()["markdown"]
    image = ArticleImage.objects.get(article=article)
    url = reverse("knowledge_base:image", args=[image.token])
    assert markdown.endswith(f"({url})")

    # Draft: staff only.
    assert client_for(None).get(url).status_code == 404
    assert client_for(customer).get(url).status_code == 404
    assert client_for(agent).get(url).status_code == 200
    # Published and public: everyone, as the stored image type, never sniffed.
    services.article_update(article_id=article.pk, actor=manager, body=f"See {markdown}")
    services.article_publish(article_id=article.pk, actor=manager)
    response = client_for(None).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    page = client_for(None).get(reverse("knowledge_base:article", args=[article.slug])).content.decode()
    assert f'src="{url}"' in page
    # Internal article: its images are internal too.
    services.article_update(article_id=article.pk, actor=manager, visibility=Article.Visibility.INTERNAL)
    assert client_for(None).get(url).status_code == 404
    assert client_for(customer).get(url).status_code == 404
    assert client_for(agent).get(url).status_code == 200
    assert client_for(None).get(reverse("knowledge_base:image", args=["nosuchtoken123"])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        # refused by the shared upload policy first (docs/uploads.md)
        ("fake.png", b"<html><script>alert(1)</script></html>", "web page or script content"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "not accepted"),
        ("notes.txt", b"hello", "only PNG, JPEG, GIF and WebP"),
        ("shot.jpg", PNG, "not what the name says"),
        ("tool.exe", PNG, "not accepted"),
    ],
)
def test_image_upload_refuses_what_is_not_an_image(name, content, reason, client_for, manager, article_make):
    article = article_make("Draft", "Body", publish=False)
    response = upload(client_for(manager), article, name=name, content=content)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not ArticleImage.objects.exists()


@pytest.mark.django_db
def test_image_upload_size_limit_and_plain_form(client_for, manager, article_make, settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 50
    article = article_make("Draft", "Body", publish=False)
    client = client_for(manager)
    response = upload(client, article, json=False)
    assert response.status_code == 302
    assert not ArticleImage.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "larger than" in page


@pytest.mark.django_db
def test_agents_cannot_add_images_to_published_articles(client_for, agent, article_make):
    article = article_make("Published", "Body")
    response = upload(client_for(agent), article)
    assert response.status_code == 400 or response.status_code == 403
    assert not ArticleImage.objects.exists()


@pytest.mark.django_db
def test_link_picker_finds_published_articles(client_for, agent, article_make):
    article_make("Resetting your password", "Forgot it?")
    article_make("Secret draft about passwords", "x", publish=False)
    html = client_for(agent).get(reverse("knowledge_base:staff-link-search"), {"q": "pasword"}).content.decode()
    assert 'data-kb-link="[Resetting your password](/kb/a/resetting-your-password/)"' in html
    assert "Secret draft" not in html


@pytest.mark.django_db
def test_synonyms_page_validates_and_saves(client_for, manager, agent, article_make):
    url = reverse("knowledge_base:manager-synonyms")
    assert client_for(agent).get(url).status_code == 404
    client = client_for(manager)
    bad = client.post(url, {"synonyms": "refund, money back\nthe, of\nlonely\nrefund, repayment"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Line 2" in html and "stop words only" in html
    assert "Line 3" in html and "at least two" in html
    assert "Line 4" in html and "already in line 1" in html
    assert not SynonymGroup.objects.exists()
    good = client.post(url, {"synonyms": "refund, money back, reimbursement\n\nbill, invoice"})
    assert good.status_code == 302
    assert [g.terms for g in SynonymGroup.objects.order_by("pk")] == [
        "refund, money back, reimbursement",
        "bill, invoice",
    ]
    article_make("Refund policy", "When we pay.")
    results = client.get(reverse("knowledge_base:search"), {"q": "reimbursement"}).context["results"]
    assert [r.article.title for r in results] == ["Refund policy"]


@pytest.mark.django_db
def test_category_management(client_for, manager, agent, article_make):
    url = reverse("knowledge_base:manager-categories")
    assert client_for(agent).get(url).status_code == 404
    client = client_for(manager)
    assert client.post(url, {"name": "Billing", "position": 1}).status_code == 302
    category = Category.objects.get(name="Billing")
    assert category.slug == "billing"
    article = article_make("Invoice", "x", category=category)
    response = client.post(url, {"category_id": category.pk, "name": "Billing & invoices", "slug": "", "position": 2})
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.slug, category.position) == ("Billing & invoices", "billing-invoices", 2)
    assert client.post(url, {"name": "", "position": 0}).status_code == 400
    assert client.post(url, {"category_id": category.pk, "action": "delete"}).status_code == 302
    assert not Category.objects.exists()
    article.refresh_from_db()
    assert article.category_id is None


@pytest.mark.django_db
def test_review_reminders(client_for, agent, manager, article_make):
    old = article_make("Old article", "x")
    fresh = article_make("Fresh article", "x")
    Article.objects.filter(pk=old.pk).update(published_at=timezone.now() - timezone.timedelta(days=400))
    client = client_for(agent)
    html = client.get(reverse("knowledge_base:staff-review"), {"months": 6}).content.decode()
    assert "Old article" in html and "Fresh article" not in html
    response = client.post(
        reverse("knowledge_base:staff-reviewed", args=[old.pk]), {"next": "/kb/manage/review/?months=6"}
    )
    assert response["Location"] == "/kb/manage/review/?months=6"
    old.refresh_from_db()
    assert old.last_reviewed_at and old.last_reviewed_by == agent
    assert "Old article" not in client.get(reverse("knowledge_base:staff-review")).content.decode()
    # Never an open redirect.
    response = client.post(reverse("knowledge_base:staff-reviewed", args=[fresh.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("knowledge_base:staff-edit", args=[fresh.pk])


@pytest.mark.django_db
def test_chosen_related_articles_come_first(client_for, manager, article_make):
    a = article_make("Main", "x", tags=["billing"])
    b = article_make("Same tag", "x", tags=["billing"])
    c = article_make("Chosen one", "x")
    response = client_for(manager).post(
        reverse("knowledge_base:staff-edit", args=[a.pk]),
        {
            "title": "Main",
            "body": "x",
            "visibility": "public",
            "audience": "both",
            "tags": "billing",
            "related": [c.pk],
        },
    )
    assert response.status_code == 302
    related = client_for(None).get(reverse("knowledge_base:article", args=[a.slug])).context["related"]
    assert [r.title for r in related] == ["Chosen one", "Same tag"]
    assert b.pk in {r.pk for r in related}


@pytest.mark.django_db
def test_empty_result_offers_the_prefilled_request_form(client_for, customer, manager, article_make, service_queue):
    RequestType.objects.create(slug="general", name="General question", queue=service_queue)
    article_make("Shipping", "Parcels.")
    client = client_for(customer)
    html = client.get(reverse("knowledge_base:search"), {"q": "teleport pricing"}).content.decode()
    assert "1." not in html.split('id="kb-no-results"')[0].split("<h1>Search</h1>")[1]
    assert 'id="kb-no-results"' in html
    assert 'href="/portal/tickets/new/?subject=teleport%20pricing"' in html or "subject=teleport%20pricing" in html
    assert SearchLog.objects.filter(query="teleport pricing", result_count=0).exists()
    form_page = client.get(reverse("tickets:customer-ticket-create"), {"subject": "teleport pricing"})
    assert 'value="teleport pricing"' in form_page.content.decode()
    report = client_for(manager).get(reverse("knowledge_base:manager-report")).content.decode()
    assert "teleport pricing" in report
