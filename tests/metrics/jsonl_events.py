"""Turn examples.jsonl lines into Ev lists exactly as tickets.services writes
events (kinds, data keys), without a database: oracle input for compute()."""

import json
from datetime import datetime
from pathlib import Path

from metrics.compute import Ev

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "metrics_examples"


def _at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_lines():
    return [json.loads(line) for line in (FIXTURES / "examples.jsonl").read_text().splitlines() if line.strip()]


def line_events(line, *, queue_ids, queue_kinds, user_ids):
    """Events of one import line (applied in `at` order, file order for ties)."""
    seq = iter(range(1, 10_000))
    created_at = _at(line["created_at"])
    role = line["created_by"]["role"]
    status = line.get("status", "new")
    queue = line["queue"]
    out = [
        Ev(
            id=next(seq),
            kind="ticket.created",
            occurred_at=created_at,
            actor_id=user_ids.get(line["created_by"].get("email")),
            actor_role=role,
            data={
                "to": status,
                "created_by_role": role,
                "creation_message_author_role": role,
                "creation_message_visibility": line.get("description_visibility", "public"),
                "channel": line.get("channel", "portal"),
                "queue_id": queue_ids[queue],
                "kind": queue_kinds[queue],
                "priority": line.get("priority", "normal"),
            },
        )
    ]
    indexed = sorted(enumerate(line["events"]), key=lambda ie: (_at(ie[1]["at"]), ie[0]))
    for _i, e in indexed:
        at = _at(e["at"])
        t = e["type"]
        if t == "message":
            author = e.get("author", {})
            r = author.get("role", "customer")
            vis = e.get("visibility", "public")
            auto = bool(e.get("automated", False))
            out.append(
                Ev(
                    next(seq),
                    "message.created",
                    at,
                    user_ids.get(author.get("email")),
                    r,
                    vis,
                    auto,
                    {"author_role": r, "visibility": vis, "is_automated": auto, "via_merge": False},
                )
            )
        elif t == "status":
            out.append(Ev(next(seq), "status.changed", at, None, "agent", data={"from": status, "to": e["to"]}))
            status = e["to"]
        elif t == "assign":
            out.append(Ev(next(seq), "assignee.changed", at, data={"to": user_ids.get(e["to"]), "to_email": e["to"]}))
        elif t == "queue":
            out.append(
                Ev(
                    next(seq),
                    "group.changed",
                    at,
                    data={
                        "from": queue_ids[queue],
                        "to": queue_ids[e["to"]],
                        "from_kind": queue_kinds[queue],
                        "to_kind": queue_kinds[e["to"]],
                    },
                )
            )
            queue = e["to"]
        elif t == "survey_offered":
            out.append(Ev(next(seq), "survey.offered", at, data={"survey": e.get("survey", "csat")}))
        elif t == "csat":
            out.append(
                Ev(next(seq), "csat.responded", at, None, "customer", data={"scale": e["scale"], "value": e["value"]})
            )
        elif t == "work_session":
            uid = user_ids[e["agent"]]
            out.append(
                Ev(
                    next(seq),
                    "work_session.recorded",
                    at,
                    uid,
                    "agent",
                    data={"agent_id": uid, "started_at": e["started_at"], "ended_at": e["ended_at"]},
                )
            )
        elif t == "time_entry":
            uid = user_ids[e["agent"]]
            out.append(
                Ev(next(seq), "time_entry.logged", at, uid, "agent", data={"agent_id": uid, "seconds": e["seconds"]})
            )
        elif t == "spam":
            out.append(Ev(next(seq), "ticket.marked_spam", at))
        elif t == "deleted":
            out.append(Ev(next(seq), "ticket.deleted", at))
        elif t == "merged_into":
            out.append(Ev(next(seq), "ticket.merged_into", at, data={"target_external_id": e["target"]}))
        else:
            raise ValueError(f"unknown event type {t}")
    return out
