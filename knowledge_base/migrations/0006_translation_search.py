"""Search the article translations (docs/knowledge-base.md, Searching
translations): a vector per translation on PostgreSQL (GIN index, filled
here), the kb_translation_fts table and its triggers on SQLite."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

from knowledge_base import sqlite_fts
from knowledge_base.db import PostgresOnlyAddIndex


def backfill(apps, schema_editor):
    from knowledge_base.services import translation_index

    if schema_editor.connection.vendor == "sqlite":
        sqlite_fts.ensure(schema_editor.connection)
    if apps.get_model("knowledge_base", "ArticleTranslation").objects.exists():
        translation_index()


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge_base", "0005_article_translations"),
    ]

    operations = [
        migrations.AddField(
            model_name="articletranslation",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        PostgresOnlyAddIndex(
            model_name="articletranslation",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="kb_translation_vector_gin"),
        ),
        migrations.RunPython(backfill, sqlite_fts.translations_backwards),
    ]
