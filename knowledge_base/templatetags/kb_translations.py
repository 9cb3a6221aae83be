"""`{% kb_translation_rows article as rows %}`: each language an article may
be translated into, with its translation or None (docs/languages.md)."""

from typing import Any

from django import template

from knowledge_base.models import Article, ArticleTranslation
from knowledge_base.services import translation_languages

register = template.Library()


@register.simple_tag
def kb_translation_rows(article: Article) -> list[dict[str, Any]]:
    found: dict[str, ArticleTranslation] = {t.language: t for t in article.translations.all()}
    return [{"code": code, "name": name, "translation": found.get(code)} for code, name in translation_languages()]
