"""Knowledge-base search quality on the labelled query set.

    # PostgreSQL (any database with the demo help centre, or an empty one):
    DATABASE_URL=postgres://... python bench/kb_query_set.py [--json out.json]
    # SQLite (a fresh temporary database is created and migrated):
    python bench/kb_query_set.py --sqlite [--json out.json]

Seeds the demo help centre (knowledge_base/demo.py) when it is missing,
then prints recall@3 and MRR overall and per kind of query. With two JSON
files, `--compare a.json b.json` prints how many queries have the same
first three results on both databases.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(json_out: str | None) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User
    from knowledge_base import query_set
    from knowledge_base.demo import seed_help_centre

    manager = User.objects.filter(role=User.Role.MANAGER).first() or User.objects.create(
        email="kb-bench-manager@example.com", username="kb-bench-manager@example.com", role=User.Role.MANAGER
    )
    seed_help_centre(manager=manager)
    result = query_set.evaluate(query_set.load())
    result["database"] = connection.vendor
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--compare", nargs=2)
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        same = sum(1 for x, y in zip(a["rows"], b["rows"], strict=True) if x["top3"] == y["top3"])
        print(f"same first three results: {same}/{len(a['rows'])} = {same / len(a['rows']):.3f}")
        return
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/kb.sqlite3"}
            py = sys.executable
            subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            cmd = [py, __file__] + (["--json", args.json] if args.json else [])
            subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        return
    result = run(args.json)
    print(f"database: {result['database']}")
    o = result["overall"]
    print(f"overall: {o['queries']} queries  recall@3 {o['recall_at_3']:.3f}  MRR {o['mrr']:.3f}")
    print(f"suggestions: recall@3 {o['suggest_recall_at_3']:.3f}, {o['suggest_mean_count']:.2f} shown on average")
    for kind, m in result["by_kind"].items():
        print(f"  {kind:9s} {m['queries']:3d} queries  recall@3 {m['recall_at_3']:.3f}  MRR {m['mrr']:.3f}")
    misses = [r for r in result["rows"] if not (r["first"] and r["first"] <= 3)]
    for r in misses:
        print(f"  miss: {r['query']!r} -> {r['top3']}")


if __name__ == "__main__":
    main()
