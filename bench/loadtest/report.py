"""Print locust's CSV stats as one table: endpoint, requests, req/s, p50, p95, errors."""

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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
