"""Dashboard page time with its reads on a streaming replica while an import writes
to the primary, against the same page read from the primary (docs/scaling.md).

    .venv/bin/python bench/replica_bench.py [--seed-tickets 3000] [--import-tickets 20000] [--repeat 20]

Starts a PostgreSQL primary and a hot standby of it of its own (tests/replica/pgcluster.py) on free
ports, seeds demo data on the primary (migrate, seed_demo, metrics_rebuild), starts the standby
(pg_basebackup -R), then runs `import_tickets` of a generated file on the primary in the background and
alternates manager dashboard requests read from the replica and from the primary (Django test client,
whole page). Both clusters run on this machine, so the replica shares its CPU with the primary and
the import: the figure shows contention on the primary, not what a replica on its own host gives.
Both clusters are stopped and deleted at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.replica.pgcluster import new_pair  # noqa: E402

DB = "helpdesk_replica_bench"


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def measure(repeat: int, importer: subprocess.Popen) -> dict[str, list[float]]:
    import django
    from django.conf import settings

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from helpdesk.db_router import replica_state

    setup_test_environment()
    client = Client()
    client.force_login(User.objects.get(email="manager@example.com"))
    times: dict[str, list[float]] = {"replica": [], "primary": [], "lag": []}
    for _ in range(repeat):
        for mode in ("replica", "primary"):
            settings.HELPDESK_DB_REPLICAS = ["replica"] if mode == "replica" else []
            started = time.perf_counter()
            response = client.get("/manager/dashboard/")
            if response.status_code != 200:
                raise SystemExit(f"dashboard answered {response.status_code}")
            times[mode].append((time.perf_counter() - started) * 1000)
        state = replica_state("replica")
        times["lag"].append(state.lag_s if state else -1)
        if importer.poll() is not None:
            print("import finished before the last sample", flush=True)
            break
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-tickets", type=int, default=3000)
    parser.add_argument("--import-tickets", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    pair = new_pair().start()
    importer = None
    try:
        pair.psql(pair.primary_port, f'CREATE DATABASE "{DB}"')
        primary = f"postgres://postgres@127.0.0.1:{pair.primary_port}/{DB}"
        env = {**os.environ, "DATABASE_URL": primary, "REDIS_URL": args.redis,
               "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
               "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret")}  # fmt: skip
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "seed_demo", "--tickets", str(args.seed_tickets))
        manage(env, "metrics_rebuild", "--inline")
        pair.start_standby()
        lines = Path(tempfile.mkdtemp()) / "import.jsonl"
        subprocess.run([sys.executable, "bench/gen_jsonl.py", str(args.import_tickets), str(lines), "--seed", "11"],
                       cwd=ROOT, env=env, check=True)  # fmt: skip
        importer = subprocess.Popen([sys.executable, "manage.py", "import_tickets", str(lines)], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL)  # fmt: skip
        time.sleep(5)  # the import is writing
        os.environ.update(env, DATABASE_REPLICA_URL=f"postgres://postgres@127.0.0.1:{pair.standby_port}/{DB}")
        load = os.getloadavg()[0]
        times = measure(args.repeat, importer)
        print(f"load average at start {load:.1f}, at end {os.getloadavg()[0]:.1f}")
        for mode in ("replica", "primary"):
            t = times[mode]
            print(f"dashboard read from {mode:7}  n={len(t)}  p50={statistics.median(t):.0f} ms  p95={p95(t):.0f} ms")
        lag = times["lag"]
        print(f"replica lag during the run: max {max(lag):.2f} s, median {statistics.median(lag):.2f} s")
    finally:
        if importer is not None and importer.poll() is None:
            importer.terminate()
            importer.wait()
        pair.stop()


if __name__ == "__main__":
    main()
