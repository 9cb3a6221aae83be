"""Print locust's CSV stats as one table: endpoint, requests, req/s, p50, p95, errors.

report.py STATS.csv                                   # one run, a row per endpoint
report.py --curve USERS:STATS.csv:LOAD0:LOAD1 ...     # LOAD_CURVE: a row per user count
"""

import csv
import sys


def main(path: str) -> int:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    print(f"{'endpoint':<28} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'errors':>7}")
    failed = 0
    for row in rows:
        n, errors = int(row["Request Count"]), int(row["Failure Count"])
        name = "TOTAL" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        rate = f"{100 * errors / n:.1f}%" if n else "-"
        print(f"{name[:28]:<28} {n:>8} {float(row['Requests/s']):>7.1f} {row['50%']:>7} {row['95%']:>7} {rate:>7}")
        if row["Name"] == "Aggregated":
            failed = errors
    failures = path.replace("_stats.csv", "_failures.csv")
    try:
        with open(failures, newline="") as fh:
            for row in csv.DictReader(fh):
                print(f"  failure x{row['Occurrences']}: {row['Method']} {row['Name']}: {row['Error'][:160]}")
    except FileNotFoundError:
        pass
    return 1 if failed else 0


def curve(points: list[str]) -> int:
    """users | req/s | p50 | p95 | errors | load, from each run's Aggregated row (all endpoints)."""
    print("| users | req/s | p50 ms | p95 ms | errors | load (1-min, before → after) |")
    print("|---:|---:|---:|---:|---:|---|")
    failed = 0
    for point in points:
        users, path, before, after = point.split(":")
        try:
            with open(path, newline="") as fh:
                total = next(row for row in csv.DictReader(fh) if row["Name"] == "Aggregated")
        except (FileNotFoundError, StopIteration):
            print(
                f"| {users} | no stats (locust failed; run without LOAD_CURVE to see why) | | | | {before} → {after} |"
            )
            failed += 1
            continue
        n, errors = int(total["Request Count"]), int(total["Failure Count"])
        rate = f"{errors} ({100 * errors / n:.1f} %)" if n else "-"
        print(f"| {users} | {float(total['Requests/s']):.1f} | {total['50%']} | {total['95%']} | {rate} | "
              f"{before} → {after} |")  # fmt: skip
        failed += errors
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "--curve":
        sys.exit(curve(sys.argv[2:]))
    sys.exit(main(sys.argv[1]))
