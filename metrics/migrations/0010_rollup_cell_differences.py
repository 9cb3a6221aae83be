"""Dashboard rollup cells in their new shape (docs/metrics.md#rollup-cell-shape): a duration's
cell is its histogram bin with count and sum (no n / sum row), and dims '' / 'a' hold only the
differences of kinds and whole tickets to the queue cells. The table's columns are unchanged;
existing cells are rebuilt from the per-ticket rows (TicketMetrics, status intervals, segments),
set-based on PostgreSQL (55 s for 20k tickets at load 12, bench/PERF_SECOND_PASS.md §7), in this
migration's transaction. An empty table (new install, or never computed) is left alone.
"""

from django.db import migrations


def _rebuild_cells(apps, schema_editor):
    DashboardRollup = apps.get_model("metrics", "DashboardRollup")
    if not DashboardRollup.objects.using(schema_editor.connection.alias).exists():
        return
    # The current code on purpose: the cells' layout is defined there (metrics/rollup.py), and
    # this migration only reads the per-ticket tables, whose columns 0009 already has.
    from metrics import rollup

    rollup.rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0009_rollup_deferred_spans"),
    ]

    # Backwards: the older code reads the old layout; `manage.py metrics_rebuild --rollups-only`
    # run by that code rebuilds it (docs/metrics.md#rollup-cell-shape).
    operations = [migrations.RunPython(_rebuild_cells, migrations.RunPython.noop)]
