"""Drop MetricsDaily (written on every recompute, read by nothing: the dashboard reads its own cells,
DashboardRollup; 61 MB per 100,000 tickets) and the status intervals' (started_at, ended_at) index
(no backlog query's plan used it; 17 MB). bench/PERF_SECOND_PASS.md, "Storage, second round"."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0011_survey_fact"),
    ]

    operations = [
        # No backlog query's plan used it (bench/PERF_SECOND_PASS.md, "Storage, second round").
        migrations.RemoveIndex(model_name="ticketstatusinterval", name="tsi_during"),
        migrations.DeleteModel(
            name="MetricsDaily",
        ),
    ]
