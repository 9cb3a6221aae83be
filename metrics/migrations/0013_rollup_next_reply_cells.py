"""Dashboard rollup cells for next reply times (metrics.rollup.NEXT_REPLY, docs/metrics.md#next-reply-time-
aggregates): a long range reads their histogram bins instead of sorting every reply of both periods. The
table's columns are unchanged; existing cells are rebuilt from the per-ticket rows, set-based on PostgreSQL,
in this migration's transaction (as 0010). An empty table (new install, or never computed) is left alone.
"""

from django.db import migrations


def _rebuild_cells(apps, schema_editor):
    DashboardRollup = apps.get_model("metrics", "DashboardRollup")
    if not DashboardRollup.objects.using(schema_editor.connection.alias).exists():
        return
    # The current code on purpose: the cells' layout is defined there (metrics/rollup.py), and
    # this migration only reads the per-ticket tables, whose columns 0012 already has.
    from metrics import rollup

    rollup.rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0012_drop_metricsdaily"),
    ]

    # Backwards: the older code ignores the next-reply cells (it reads the replies themselves).
    operations = [migrations.RunPython(_rebuild_cells, migrations.RunPython.noop)]
