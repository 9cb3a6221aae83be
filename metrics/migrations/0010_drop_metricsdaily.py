"""Drop MetricsDaily: written on every recompute, read by nothing since the dashboard reads its own
cells (DashboardRollup). 33 MB of heap and as much again of indexes per 100,000 tickets
(bench/PERF_SECOND_PASS.md, "Storage, second round")."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0009_rollup_deferred_spans"),
    ]

    operations = [
        migrations.DeleteModel(
            name="MetricsDaily",
        ),
    ]
