"""Write N demo tickets as an import JSONL file (the seed_demo generator).

    .venv/bin/python bench/gen_jsonl.py 1000000 /tmp/bench_1m.jsonl [--seed 7]

Needs Django settings only to import the generator (no database access).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django
import orjson

django.setup()

from tickets.importing import demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tickets", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    anchor = demo.default_anchor()
    started = time.monotonic()
    events = 0
    with open(args.out, "wb") as fh:
        for _, line in demo.demo_lines(args.tickets, seed=args.seed, anchor=anchor):
            events += len(line["events"])
            fh.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
    size = os.path.getsize(args.out)
    print(
        f"wrote {args.tickets:,} tickets, {events:,} line events (+{args.tickets:,} creations) to {args.out} "
        f"({size / 1e6:,.0f} MB) in {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
