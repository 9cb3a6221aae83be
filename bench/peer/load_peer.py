"""Load the first N tickets of one of our import files (bench/gen_jsonl.py)
into the django-helpdesk peer database, so both products hold the same
tickets, people and conversations.

    cd bench/peer && /tmp/peer-venv/bin/python load_peer.py /tmp/bench_100k.jsonl [--limit N]

Mapping (django-helpdesk has fewer concepts):
- queue slug -> Queue(slug, title); requester -> a non-staff User and the
  ticket's `submitter_email` (its "my tickets" matches on it); agents -> staff
  Users; the first manager-like account `manager@peer.test` is a superuser.
- status: new/open/on_hold/pending -> Open (Reopened if it was ever reopened),
  solved -> Resolved, closed -> Closed; priority urgent/high/normal/low -> 1/2/3/4.
- every message -> a FollowUp (public unless internal, author, instant);
  every status change -> a FollowUp with `new_status`, as django-helpdesk
  writes one per update. `created`/`modified` are the file's instants.
Rows are written with bulk_create (2,000 tickets a batch); every user's
password is `peer-bench`.
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402

from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402

User = get_user_model()
PASSWORD = make_password("peer-bench")
STATUS = {"new": 1, "open": 1, "on_hold": 1, "pending": 1, "solved": 3, "closed": 4}
PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
for field in (Ticket._meta.get_field("created"), Ticket._meta.get_field("modified")):
    field.auto_now = field.auto_now_add = False  # keep the file's instants


class Loader:
    def __init__(self) -> None:
        self.users: dict[str, int] = dict(User.objects.values_list("email", "pk"))
        self.queues: dict[str, Queue] = {q.slug: q for q in Queue.objects.all()}

    def user(self, email: str, staff: bool) -> int:
        email = email.lower()
        if email not in self.users:
            u = User.objects.create(username=email[:150], email=email, password=PASSWORD, is_staff=staff)
            self.users[email] = u.pk
        return self.users[email]

    def queue(self, slug: str) -> Queue:
        if slug not in self.queues:
            self.queues[slug] = Queue.objects.create(
                slug=slug[:50], title=slug.replace("-", " ").title(), allow_email_submission=False
            )
        return self.queues[slug]

    def ticket(self, line: dict) -> tuple[Ticket, list[FollowUp]]:
        requester = line["requester"]["email"].lower()
        self.user(requester, staff=False)
        status, assignee, reopened, last = "new", None, False, line["created_at"]
        followups: list[FollowUp] = []
        for ev in line["events"]:
            last = max(last, ev["at"])
            if ev["type"] == "assign":
                assignee = self.user(ev["to"], staff=True) if ev.get("to") else None
            elif ev["type"] == "status":
                reopened |= status in ("solved", "closed") and ev["to"] not in ("solved", "closed")
                status = ev["to"]
                followups.append(FollowUp(date=_at(ev["at"]), title="Status changed", new_status=STATUS[status]))
            elif ev["type"] == "message":
                author = ev["author"]
                followups.append(
                    FollowUp(
                        date=_at(ev["at"]),
                        title="Comment",
                        comment=ev["body"],
                        public=ev.get("visibility", "public") == "public",
                        user_id=self.user(author["email"], staff=author.get("role") != "customer")
                        if author.get("email")
                        else None,
                    )
                )
        code = STATUS[status]
        ticket = Ticket(
            title=line["subject"][:200],
            queue=self.queue(line["queue"]),
            created=_at(line["created_at"]),
            modified=_at(last),
            submitter_email=requester,
            assigned_to_id=assignee,
            status=2 if reopened and code == 1 else code,
            priority=PRIORITY.get(line.get("priority", "normal"), 3),
            description=line.get("description", ""),
        )
        return ticket, followups


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    User.objects.get_or_create(
        username="manager@peer.test",
        defaults={"email": "manager@peer.test", "password": PASSWORD, "is_staff": True, "is_superuser": True},
    )
    loader = Loader()
    started, done, batch = time.monotonic(), 0, []
    with open(args.file, "rb") as fh:
        for raw in fh:
            batch.append(loader.ticket(json.loads(raw)))
            done += 1
            if len(batch) == 2000 or done == args.limit:
                _flush(batch)
                batch = []
                print(f"{done:,} tickets, {time.monotonic() - started:.0f} s", flush=True)
            if done == args.limit:
                break
    _flush(batch)
    print(f"loaded {done:,} tickets in {time.monotonic() - started:.0f} s")


def _flush(batch: list[tuple[Ticket, list[FollowUp]]]) -> None:
    if not batch:
        return
    tickets = Ticket.objects.bulk_create([t for t, _ in batch])
    followups = []
    for ticket, fus in zip(tickets, (f for _, f in batch), strict=True):
        for fu in fus:
            fu.ticket_id = ticket.pk
            followups.append(fu)
    FollowUp.objects.bulk_create(followups, batch_size=5000)


if __name__ == "__main__":
    main()
