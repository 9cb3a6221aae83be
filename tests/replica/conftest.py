"""Tests against a real streaming replica (docs/scaling.md).

For this package only, the tests' `default` database is moved to a primary
of our own (a copy of the test database made by pytest-django), and a hot
standby of that primary is added as the `replica` alias. Both clusters are
started here from the installed PostgreSQL binaries on free ports and
stopped after the package; the shared server is not reconfigured.
"""

import pytest
from django.db import connections
from django.test import override_settings

from tests.replica.pgcluster import copy_database, new_pair, wait_for


def _swap_default(host_port: tuple[str, int]) -> tuple[str, int]:
    """Point the `default` alias at another server (same database name)."""
    default = connections["default"]
    default.close()
    previous = (default.settings_dict["HOST"], default.settings_dict["PORT"])
    default.settings_dict["HOST"], default.settings_dict["PORT"] = host_port
    return previous


@pytest.fixture(scope="package")
def replica_pair(django_db_setup, django_db_blocker):
    name = connections["default"].settings_dict["NAME"]
    shared_port = int(connections["default"].settings_dict["PORT"] or 5432)
    pair = new_pair()
    previous = None
    try:
        pair.start()
        copy_database(name=name, src_port=shared_port, dst_port=pair.primary_port, pair=pair)
        pair.psql(pair.primary_port, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", dbname=name)
        pair.start_standby()
        assert wait_for(lambda: pair.psql(pair.standby_port, "SELECT pg_is_in_recovery()") == "t", timeout=60)
        previous = _swap_default(("127.0.0.1", pair.primary_port))
        replica = {**connections["default"].settings_dict, "PORT": pair.standby_port, "TEST": {"MIRROR": "default"}}
        connections.settings["replica"] = replica
        with override_settings(HELPDESK_DB_REPLICAS=["replica"]):
            yield pair
    finally:
        if "replica" in connections.settings:
            connections["replica"].close()
            del connections["replica"]
            del connections.settings["replica"]
        if previous is not None:
            _swap_default(previous)
        pair.stop()


def statements(port_alias: str, needle: str) -> int:
    """How many statements containing `needle` the server behind an alias ran
    since the last reset (pg_stat_statements, on that very server)."""
    with connections[port_alias].cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements WHERE query ILIKE %s AND dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [f"%{needle}%"],
        )
        return int(cur.fetchone()[0])


def statements_reset() -> None:
    for alias in ("default", "replica"):
        with connections[alias].cursor() as cur:
            cur.execute("SELECT pg_stat_statements_reset()")


def replayed(sql: str, params: list | None = None) -> bool:
    """True once the standby answers `sql` with a row (the primary's write arrived)."""
    with connections["replica"].cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone() is not None


def wait_replayed(sql: str, params: list | None = None, timeout: float = 30) -> None:
    assert wait_for(lambda: replayed(sql, params), timeout=timeout), f"standby never replayed: {sql}"


def wait_caught_up(timeout: float = 30) -> None:
    """Until the standby has replayed everything the primary wrote so far."""
    with connections["default"].cursor() as cur:
        cur.execute("SELECT pg_current_wal_lsn()")
        lsn = cur.fetchone()[0]

    def done() -> bool:
        with connections["replica"].cursor() as cur:
            cur.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            return cur.fetchone()[0]

    assert wait_for(done, timeout=timeout), "standby did not catch up"


def replay_pause(paused: bool) -> None:
    with connections["replica"].cursor() as cur:
        cur.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
