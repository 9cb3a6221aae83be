"""The ticket page's "Other requests from ..." card reads a requester's newest
visible tickets per queue (tickets.selectors.ticket_requester_other_tickets):
at most the card's length per queue, however many tickets the requester has in
queues the agent does not see (bench/TICKET_PAGE.md, "Fourth round"). Partial:
spam and deleted tickets are never listed.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_is_away"),
        ("tickets", "0020_partial_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("is_deleted", False), ("is_spam", False)),
                fields=["requester", "queue", "-created_at", "-id"],
                name="ticket_requester_queue_created",
            ),
        ),
    ]
