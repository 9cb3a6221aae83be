from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sqlite_fts_ensure(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from knowledge_base import sqlite_fts

    sqlite_fts.ensure(connections[using])


class KnowledgeBaseConfig(AppConfig):
    name = "knowledge_base"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from helpdesk.lib import providers
        from knowledge_base.selectors import article_suggest_articles

        # "Link an article" on the agent ticket page (helpdesk.lib.providers).
        providers.provide(providers.ARTICLE_SUGGEST, article_suggest_articles)
        # A later SQLite table rebuild drops triggers: re-create them.
        post_migrate.connect(_sqlite_fts_ensure, sender=self, dispatch_uid="kb_sqlite_fts_ensure")
        if apps.is_installed("auditlog"):  # configuration history (settings area)
            from auditlog.registry import auditlog

            from knowledge_base.models import Category, SynonymGroup

            auditlog.register(SynonymGroup)
            auditlog.register(Category)
