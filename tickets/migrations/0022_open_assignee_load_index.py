"""Auto-assignment's open-load count (tickets.routing._open_load: each candidate agent's
unsolved, non-spam, non-deleted tickets) as an index-only scan of the candidates' entries
instead of a scan of every open ticket in `ticket_ws_counts` (bench/API.md, "Fourth round
(session 9)"). The predicate is the query's WHERE. Plain CREATE INDEX like 0020/0021.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_search_trigram_indexes"),
        ("tickets", "0021_requester_queue_created_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("is_deleted", False), ("is_spam", False), ("status__in", ["new", "open", "pending", "on_hold"])
                ),
                fields=["assignee"],
                name="ticket_open_assignee_load",
            ),
        ),
    ]
