"""Database size per table (heap, TOAST, indexes) and per index, scaled to 100,000 tickets.

    .venv/bin/python bench/storage_bench.py DB                 # sizes as they are
    .venv/bin/python bench/storage_bench.py DB --compact       # VACUUM FULL first (compact figures)
    .venv/bin/python bench/storage_bench.py DB --indexes 20    # also the 20 largest indexes
    .venv/bin/python bench/storage_bench.py DB --usage         # indexes never scanned since the last
                                                               # pg_stat_reset() (run the benches first)

DB is a bench database (e.g. `bench/import_bench.py import` + `metrics_rebuild --reset --inline`);
`--compact` rewrites every table of it (VACUUM FULL takes an exclusive lock: never on a shared database).
Figures are MB (10^6 bytes) per 100,000 tickets, extrapolated linearly from the database's ticket count.
"""

import argparse
import os
import subprocess


def psql(db: str, sql: str) -> list[list[str]]:
    host, user = os.environ.get("PGHOST", "127.0.0.1"), os.environ.get("PGUSER", "postgres")
    out = subprocess.run(
        ["psql", "-h", host, "-U", user, "-d", db, "-tAF", "\t", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return [line.split("\t") for line in out.stdout.splitlines() if line]


TABLES_SQL = """
SELECT c.relname,
       pg_relation_size(c.oid) AS heap,
       COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) AS toast,
       pg_indexes_size(c.oid) AS idx,
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) AS n_idx,
       c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY pg_total_relation_size(c.oid) DESC
"""

INDEX_SQL = """
SELECT s.relname, s.indexrelname, pg_relation_size(s.indexrelid), s.idx_scan
FROM pg_stat_user_indexes s
ORDER BY pg_relation_size(s.indexrelid) DESC
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--compact", action="store_true", help="VACUUM FULL ANALYZE first")
    parser.add_argument("--indexes", type=int, default=0, help="list the N largest indexes")
    parser.add_argument("--usage", action="store_true", help="list indexes with idx_scan = 0")
    parser.add_argument("--top", type=int, default=16, help="tables to list")
    args = parser.parse_args()
    if args.compact:
        psql(args.db, "VACUUM FULL ANALYZE")
    tickets = int(psql(args.db, "SELECT count(*) FROM tickets_ticket")[0][0])
    scale = 100_000 / tickets / 1e6
    rows = psql(args.db, TABLES_SQL)
    total = int(psql(args.db, "SELECT pg_database_size(current_database())")[0][0])
    print(f"database {args.db}: {tickets:,} tickets; whole database {total * scale:,.0f} MB per 100k")
    print(f"{'table':40} {'rows':>10} {'heap':>7} {'toast':>7} {'idx':>7} {'#idx':>5} {'total':>7}  MB/100k")
    for name, heap, toast, idx, n_idx, tuples in rows[: args.top]:
        h, t, i = int(heap) * scale, int(toast) * scale, int(idx) * scale
        print(f"{name:40} {int(tuples):>10,} {h:>7.1f} {t:>7.1f} {i:>7.1f} {n_idx:>5} {h + t + i:>7.1f}")
    rest = sum(int(h) + int(t) + int(i) for _n, h, t, i, _k, _r in rows[args.top :])
    print(f"{'(other tables)':40} {'':>10} {'':>7} {'':>7} {'':>7} {'':>5} {rest * scale:>7.1f}")
    indexes = psql(args.db, INDEX_SQL)
    if args.indexes:
        print(f"\n{'table':32} {'index':44} {'MB/100k':>8} {'scans':>8}")
        for table, index, size, scans in indexes[: args.indexes]:
            print(f"{table:32} {index:44} {int(size) * scale:>8.1f} {int(scans):>8,}")
    if args.usage:
        print("\nindexes with no scan since the last pg_stat_reset():")
        for table, index, size, scans in indexes:
            if int(scans) == 0:
                print(f"{table:32} {index:44} {int(size) * scale:>8.1f}")


if __name__ == "__main__":
    main()
