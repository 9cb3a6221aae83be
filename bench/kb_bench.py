"""Knowledge-base search benchmark on PostgreSQL.

Generates N articles (default 50,000; idempotent: only tops up) in the
database given by DATABASE_URL (default: helpdesk_kb_bench on 127.0.0.1),
then times the real selectors (`article_search`, `article_suggest_for_user`)
and the HTML suggestion endpoint through Django's test client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_kb_bench \
        .venv/bin/python bench/kb_bench.py --articles 50000 --queries 400

Figures printed: p50 / p95 / p99 / max in milliseconds, server side (Python
+ ORM + both SQL queries, snippets included).
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_kb_bench")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")


def _words(text: str) -> list[str]:
    return text.split()


TOPICS = _words(
    "password reset login account email invoice billing refund payment subscription cancel upgrade "
    "downgrade plan order shipping delivery tracking return exchange warranty printer scanner driver "
    "install update error crash sync backup restore export import report dashboard api token webhook "
    "integration calendar notification mobile app browser cookie session security twofactor sso "
    "permission role team user profile address vat tax receipt discount coupon trial license seat "
    "storage quota upload attachment download file folder share link search filter tag label"
)
FILLER = _words(
    "the a to of and in your you can this that with for on is are be it as from if will when then "
    "click open choose select settings page menu button screen window field option enter save apply "
    "check make sure after before while again first next last new old each every some all most "
    "customer support team help guide step steps note tip example please contact us more details"
)


def _sentence(rng: random.Random, topic_words: list[str]) -> str:
    words = [rng.choice(topic_words) if rng.random() < 0.25 else rng.choice(FILLER) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def generate(total: int, seed: int = 7) -> None:
    from django.db import transaction

    from knowledge_base import services
    from knowledge_base.models import Article, Audience

    have = Article.objects.count()
    if have >= total:
        print(f"articles present: {have} (no generation needed)")
        return
    rng = random.Random(seed + have)
    started = time.perf_counter()
    batch: list[Article] = []
    for i in range(have, total):
        topic = rng.sample(TOPICS, 3)
        title = f"{rng.choice(['How to', 'Why does', 'Fix', 'About', 'Guide:', 'Troubleshoot'])} {' '.join(topic)} {i}"
        paragraphs = [" ".join(_sentence(rng, topic) for _ in range(rng.randint(3, 6))) for _ in range(3)]
        body = "\n\n".join(paragraphs)
        batch.append(
            Article(
                title=title,
                slug=f"bench-{i}",
                body=body,
                body_html="".join(f"<p>{p}</p>" for p in paragraphs),
                body_text=body,
                status=Article.Status.PUBLISHED if rng.random() < 0.9 else Article.Status.DRAFT,
                visibility=Article.Visibility.PUBLIC if rng.random() < 0.8 else Article.Visibility.INTERNAL,
                audience=rng.choice(Audience.values),
                tags_text=" ".join(rng.sample(topic, 2)),
            )
        )
        if len(batch) == 5000:
            with transaction.atomic():
                Article.objects.bulk_create(batch)
            batch = []
            print(f"  generated {i + 1}/{total}", flush=True)
    if batch:
        Article.objects.bulk_create(batch)
    print("indexing (one upsert of the weighted search documents) ...", flush=True)
    services.article_index()
    vacuum()
    print(f"generated {total - have} articles in {time.perf_counter() - started:.1f} s")


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) knowledge_base_article")
        cursor.execute("VACUUM (ANALYZE) knowledge_base_articlesearchdoc")


def percentiles(samples: list[float]) -> str:
    s = sorted(samples)

    def pick(p: float) -> float:
        return s[min(len(s) - 1, round(p * (len(s) - 1)))]

    return (
        f"n={len(s)}  p50={pick(0.50):.1f}  p95={pick(0.95):.1f}  p99={pick(0.99):.1f}  "
        f"max={s[-1]:.1f}  mean={statistics.fmean(s):.1f} ms"
    )


def queries(rng: random.Random, n: int) -> dict[str, list[str]]:
    def typo(word: str) -> str:
        if len(word) < 5:
            return word
        i = rng.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    return {
        "one word": [rng.choice(TOPICS) for _ in range(n)],
        "two words": [" ".join(rng.sample(TOPICS, 2)) for _ in range(n)],
        "typo": [typo(rng.choice([t for t in TOPICS if len(t) >= 6])) for _ in range(n)],
        "suggest (prefix, any word)": [
            f"how do i {rng.choice(TOPICS)} my {rng.choice(TOPICS)[: rng.randint(3, 6)]}" for _ in range(n)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from knowledge_base import selectors

    if connection.vendor != "postgresql":
        raise SystemExit("the benchmark is for PostgreSQL: set DATABASE_URL")
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    generate(args.articles)
    vacuum()

    rng = random.Random(42)
    anon = AnonymousUser()
    agent, _ = User.objects.get_or_create(
        email="kb-bench-agent@example.com", defaults={"username": "kb-bench-agent@example.com", "role": "agent"}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM knowledge_base_article")
        (count,) = cursor.fetchone()
    print(f"\narticles: {count}; PostgreSQL: {connection.pg_version}; queries per kind: {args.queries}")

    for kind, qs in queries(rng, args.queries).items():
        fn = selectors.article_suggest_for_user if kind.startswith("suggest") else selectors.article_search
        for who, user in (("customer/anonymous", anon), ("agent", agent)):
            for q in qs[:20]:  # warm-up
                fn(user=user, query=q)
            times, hits = [], 0
            for q in qs:
                t0 = time.perf_counter()
                results = fn(user=user, query=q)
                times.append((time.perf_counter() - t0) * 1000)
                hits += bool(results)
            print(f"{kind:28s} {who:19s} {percentiles(times)}  with results: {hits}/{len(qs)}")

    client = Client()
    times = []
    for q in queries(rng, args.queries)["suggest (prefix, any word)"]:
        t0 = time.perf_counter()
        response = client.get("/kb/suggest/", {"q": q}, HTTP_HX_REQUEST="true")
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"/kb/suggest/ answered {response.status_code}")
    print(f"{'GET /kb/suggest/ (HTML)':28s} {'anonymous':19s} {percentiles(times)}")


if __name__ == "__main__":
    main()
