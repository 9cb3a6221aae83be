"""The labelled query set of the knowledge-base search (bench/kb_queries.txt)
and its measures: recall@3 (share of queries with an answering article in
the first three results) and MRR (mean of 1 / rank of the first answering
article, 0 when none is in the first ten). Used by bench/kb_query_set.py
and by the threshold test (tests/knowledge_base/test_query_set.py)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

QUERY_FILE = Path(settings.BASE_DIR) / "bench" / "kb_queries.txt"


@dataclass(frozen=True)
class LabelledQuery:
    kind: str
    query: str
    answers: frozenset[str]  # article slugs


def load(path: Path = QUERY_FILE) -> list[LabelledQuery]:
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, query, slugs = (part.strip() for part in line.split("|"))
        queries.append(LabelledQuery(kind=kind, query=query, answers=frozenset(slugs.split(","))))
    return queries


def evaluate(queries: list[LabelledQuery], *, user: Any = None) -> dict[str, Any]:
    """Run every query through the real search; return the measures overall
    and per kind, and each query's first three slugs."""
    from django.contrib.auth.models import AnonymousUser

    from knowledge_base.selectors import article_search, article_suggest_for_user

    user = user or AnonymousUser()
    rows = []
    for q in queries:
        slugs = [r.article.slug for r in article_search(user=user, query=q.query, limit=10)]
        first = next((i + 1 for i, s in enumerate(slugs) if s in q.answers), None)
        suggested = [r.article.slug for r in article_suggest_for_user(user=user, query=q.query)]
        rows.append(
            {
                "kind": q.kind,
                "query": q.query,
                "top3": slugs[:3],
                "first": first,
                "suggested": suggested,
                "suggest_hit": bool(set(suggested[:3]) & q.answers),
            }
        )

    def measures(subset: list[dict[str, Any]]) -> dict[str, float]:
        n = len(subset) or 1
        return {
            "queries": len(subset),
            "recall_at_3": round(sum(1 for r in subset if r["first"] and r["first"] <= 3) / n, 4),
            "mrr": round(sum(1 / r["first"] for r in subset if r["first"]) / n, 4),
            # Suggestions while typing the same text (floor applied, <= 5).
            "suggest_recall_at_3": round(sum(1 for r in subset if r["suggest_hit"]) / n, 4),
            "suggest_mean_count": round(sum(len(r["suggested"]) for r in subset) / n, 2),
        }

    kinds = sorted({str(r["kind"]) for r in rows})
    return {
        "overall": measures(rows),
        "by_kind": {k: measures([r for r in rows if r["kind"] == k]) for k in kinds},
        "rows": rows,
    }
