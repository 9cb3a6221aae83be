"""Internal and draft articles never reach customers or anonymous visitors:
not on pages, in search, in suggestions or as related articles."""

import pytest
from django.urls import reverse

from knowledge_base import selectors
from knowledge_base.models import Article

SECRET = "zebracorn"  # appears only in internal/draft articles


@pytest.fixture
def kb(article_make, agent):
    public = article_make("Zebracorn public guide", "All about the public zebracorn", tags=["zebracorn"])
    internal = article_make(
        f"Internal {SECRET} runbook", f"internal {SECRET} escalation", visibility=Article.Visibility.INTERNAL
    )
    draft = article_make(f"Draft {SECRET} notes", f"draft {SECRET} text", publish=False, actor=agent)
    return {"public": public, "internal": internal, "draft": draft}


PAGES = [
    ("knowledge_base:home", None),
    ("knowledge_base:search", {"q": SECRET}),
    ("knowledge_base:search", {"q": "runbook"}),
    ("knowledge_base:suggest", {"q": SECRET}),
    ("knowledge_base:suggest", {"subject": "internal zebrac"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_customers_and_anonymous_see_only_public_published(who, kb, customer, client_for):
    client = client_for(customer if who == "customer" else None)
    for name, params in PAGES:
        html = client.get(reverse(name), params or {}).content.decode()
        assert f"Internal {SECRET} runbook" not in html, name
        assert "escalation" not in html, name
        assert "Draft zebracorn" not in html, name
    assert "Zebracorn public guide" in client.get(reverse("knowledge_base:search"), {"q": SECRET}).content.decode()
    for key in ("internal", "draft"):
        url = reverse("knowledge_base:article", args=[kb[key].slug])
        assert client.get(url).status_code == 404
        assert client.post(url + "feedback/", {"helpful": "yes"}).status_code == 404
    detail = client.get(reverse("knowledge_base:article", args=[kb["public"].slug])).content.decode()
    assert f"Internal {SECRET} runbook" not in detail  # not even as a related article


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_selectors_hide_internal_from_non_staff(who, kb, customer):
    user = customer if who == "customer" else None
    from django.contrib.auth.models import AnonymousUser

    user = user or AnonymousUser()
    titles = {r.article.title for r in selectors.article_search(user=user, query=SECRET, match_all=False)}
    assert titles == {"Zebracorn public guide"}
    suggested = {r.article.title for r in selectors.article_suggest_for_user(user=user, query="zebrac")}
    assert suggested == {"Zebracorn public guide"}
    related = selectors.article_related(user=user, article=kb["public"])
    assert kb["internal"] not in related


@pytest.mark.django_db
def test_agents_see_internal_published_but_not_drafts_in_search(kb, agent, client_for):
    client = client_for(agent)
    html = client.get(reverse("knowledge_base:search"), {"q": SECRET}).content.decode()
    assert f"Internal {SECRET} runbook" in html
    assert "Draft zebracorn" not in html
    assert client.get(reverse("knowledge_base:article", args=[kb["internal"].slug])).status_code == 200
    # Drafts: previewable by staff, listed on the management page.
    assert client.get(reverse("knowledge_base:article", args=[kb["draft"].slug])).status_code == 200
    assert "Draft zebracorn" in client.get(reverse("knowledge_base:staff-list")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,args",
    [
        ("knowledge_base:staff-list", []),
        ("knowledge_base:staff-create", []),
        ("knowledge_base:staff-edit", ["id"]),
        ("knowledge_base:staff-history", ["id"]),
        ("knowledge_base:staff-translation", ["id", "de"]),
        ("knowledge_base:manager-report", []),
    ],
)
def test_staff_pages_are_404_for_customers_and_login_for_anonymous(name, args, kb, customer, client_for):
    url = reverse(name, args=[kb["draft"].pk if a == "id" else a for a in args])
    assert client_for(customer).get(url).status_code == 404
    response = client_for(None).get(url)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_report_is_for_managers_only(agent, manager, client_for):
    assert client_for(agent).get(reverse("knowledge_base:manager-report")).status_code == 404
    assert client_for(manager).get(reverse("knowledge_base:manager-report")).status_code == 200


@pytest.mark.django_db
def test_inactive_staff_user_is_treated_as_non_staff(kb, agent):
    agent.is_active = False
    titles = {r.article.title for r in selectors.article_search(user=agent, query=SECRET, match_all=False)}
    assert titles == {"Zebracorn public guide"}


@pytest.mark.django_db
def test_a_stale_search_document_cannot_leak_an_internal_article(article_make):
    """Even if the search table's access copy were stale (a write that skipped
    the service), the article rows are re-checked before anything is shown."""
    article = article_make("Quarterly vault rotation", "vault steps")
    Article.objects.filter(pk=article.pk).update(visibility=Article.Visibility.INTERNAL)  # bypasses the service
    from django.contrib.auth.models import AnonymousUser

    assert selectors.article_search(user=AnonymousUser(), query="vault") == []
    assert selectors.article_suggest_for_user(user=AnonymousUser(), query="quarterly vau") == []
