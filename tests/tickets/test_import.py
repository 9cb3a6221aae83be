"""import_tickets (docs/import.md; metrics_examples README "What the import must do")."""

import json
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from metrics.models import MetricsDirty
from tickets.api.serializers import EventOutputSerializer
from tickets.importing import fingerprint
from tickets.models import Message, Queue, Ticket, TicketEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "metrics_examples"
LINES = [json.loads(line) for line in (FIXTURES / "examples.jsonl").read_text().splitlines() if line.strip()]
K = TicketEvent.Kind


def run_import(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_tickets", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write_lines(tmp_path, lines, name="lines.jsonl"):
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


@pytest.fixture
def configured(db, tmp_path):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"), stdout=StringIO())


@pytest.fixture
def examples(configured, tmp_path):
    path = tmp_path / "examples.jsonl"
    path.write_text((FIXTURES / "examples.jsonl").read_text())
    out, err = run_import(path)
    return path, out, err


def line(ext, events=(), **extra):
    base = {
        "external_id": ext,
        "queue": "tier1",
        "subject": f"Subject {ext}",
        "priority": "normal",
        "channel": "email",
        "requester": {"email": f"{ext.lower()}@example.com", "name": "Req"},
        "created_at": "2025-11-03T09:00:00-05:00",
        "description": "Help",
        "events": list(events),
    }
    base.update(extra)
    return base


def test_examples_import_cleanly_and_match_their_lines(examples):
    """Every fixture line goes in with no error; statuses, event counts and instants match the lines."""
    _, out, err = examples
    assert "16 lines: 16 imported, 0 updated, 0 unchanged, 0 rejected; 0 events refused" in out
    assert err.count("rejected") == 0 and "refused:" not in err
    assert Ticket.objects.count() == 16
    for data in LINES:
        ticket = Ticket.objects.get(external_id=data["external_id"])
        events = list(ticket.events.order_by("occurred_at", "id"))
        assert len(events) == 1 + len(data["events"]), data["external_id"]
        assert ticket.created_at == datetime.fromisoformat(data["created_at"])
        assert events[0].kind == K.CREATED and events[0].occurred_at == ticket.created_at
        wanted = sorted(datetime.fromisoformat(e["at"]) for e in data["events"])
        assert [e.occurred_at for e in events[1:]] == wanted, data["external_id"]
        n_messages = sum(1 for e in data["events"] if e["type"] == "message")
        assert ticket.messages.count() == 1 + n_messages
        statuses = [
            e["to"]
            for e in sorted(data["events"], key=lambda e: datetime.fromisoformat(e["at"]))
            if e["type"] == "status"
        ]
        assert ticket.status == (statuses[-1] if statuses else data.get("status", "new")), data["external_id"]
        assert ticket.updated_at >= ticket.created_at
    assert MetricsDirty.objects.filter(ticket_id__in=Ticket.objects.values("pk")).count() == 16


def test_examples_special_tickets(examples):
    """Merge (target later in the file), spam, delete, escalation, system messages, sessions and DST offsets."""
    t113, t114 = Ticket.objects.get(external_id="T-113"), Ticket.objects.get(external_id="T-114")
    assert t113.merged_into == t114 and t113.status == "closed"
    merged = t113.events.get(kind=K.MERGED_INTO)
    assert merged.data["target_id"] == t114.pk
    assert Ticket.objects.get(external_id="T-112").is_spam
    assert Ticket.objects.get(external_id="T-116").is_deleted
    t103 = Ticket.objects.get(external_id="T-103")
    assert (t103.queue.slug, t103.kind) == ("tier2", "support")
    move = t103.events.get(kind=K.QUEUE)
    assert move.data["from_slug"] == "tier1" and move.data["to_kind"] == "support" and move.data["escalation"] is True
    system = t114.messages.filter(author_role="system")
    assert system.count() == 2 and all(m.author_id is None and m.is_automated for m in system)
    ack = t114.events.filter(kind=K.MESSAGE, actor_role="system", visibility="public").get()
    assert ack.is_automated and ack.data["author_role"] == "system" and ack.actor_id is None
    # status.changed carries the status at that moment as `from`.
    t101 = Ticket.objects.get(external_id="T-101")
    moves = [(e.data["from"], e.data["to"]) for e in t101.events.filter(kind=K.STATUS).order_by("occurred_at", "id")]
    assert moves == [("new", "open"), ("open", "solved"), ("solved", "open"), ("open", "solved"), ("solved", "closed")]
    # Reply and status change at the same instant keep file order.
    same = list(t101.events.filter(occurred_at=datetime.fromisoformat("2025-10-28T10:42:30-04:00")).order_by("id"))
    assert [e.kind for e in same] == [K.MESSAGE, K.STATUS]
    # -04:00 before the DST change, -05:00 after: instants exact.
    assert t101.created_at.isoformat() == "2025-10-28T14:00:00+00:00"
    t110 = Ticket.objects.get(external_id="T-110")
    sessions = t110.events.filter(kind=K.WORK_SESSION).order_by("occurred_at")
    assert sessions.count() == 4
    first = sessions[0]
    assert first.occurred_at.isoformat() == "2025-11-04T14:25:00+00:00"
    assert datetime.fromisoformat(first.data["started_at"]) == datetime.fromisoformat("2025-11-04T14:10:00+00:00")
    assert first.data["agent_id"] == User.objects.get(email="alice@acme.test").pk
    assert t110.events.get(kind=K.TIME_ENTRY).data["seconds"] == 600
    created = t101.events.get(kind=K.CREATED)
    assert created.data["created_by_role"] == "customer" and created.data["to"] == "new"
    assert created.data["message_id"] == t101.messages.get(is_description=True).pk
    t107 = Ticket.objects.get(external_id="T-107")
    assert t107.events.get(kind=K.CREATED).data["creation_message_visibility"] == "internal"
    csat = t101.events.get(kind=K.CSAT)
    assert (csat.data["scale"], csat.data["value"], csat.actor_role) == ("1-5", 5, "customer")
    # Unknown people are created inactive, with the role the line gives.
    ana = User.objects.get(email="ana.lima@example.com")
    assert not ana.is_active and ana.role == "customer" and not ana.has_usable_password()


def test_reimport_is_idempotent(examples):
    """The same file again: every line unchanged, no new tickets, events or messages."""
    path, _, _ = examples
    counts = (Ticket.objects.count(), TicketEvent.objects.count(), Message.objects.count(), User.objects.count())
    out, _ = run_import(path)
    assert "0 imported, 0 updated, 16 unchanged" in out
    assert (
        Ticket.objects.count(),
        TicketEvent.objects.count(),
        Message.objects.count(),
        User.objects.count(),
    ) == counts


def test_changed_line_appends_only_new_events(examples, tmp_path):
    """A line with one more reply and status change adds exactly those events and updates the ticket."""
    data = next(d for d in LINES if d["external_id"] == "T-115")
    ticket = Ticket.objects.get(external_id="T-115")
    before = ticket.events.count()
    assert ticket.status == "solved"
    changed = json.loads(json.dumps(data))
    changed["subject"] = "Renamed subject"
    changed["events"] += [
        {
            "at": "2025-11-12T09:00:00-05:00",
            "type": "message",
            "author": {"email": data["requester"]["email"], "role": "customer"},
            "visibility": "public",
            "body": "It happened again.",
        },
        {"at": "2025-11-12T09:00:00-05:00", "type": "status", "to": "open"},
    ]
    total_before = TicketEvent.objects.count()
    out, _ = run_import(write_lines(tmp_path, [changed]))
    assert "0 imported, 1 updated, 0 unchanged" in out
    ticket.refresh_from_db()
    assert ticket.events.count() == before + 2
    assert TicketEvent.objects.count() == total_before + 2
    assert ticket.status == "open" and ticket.solved_at is None and ticket.subject == "Renamed subject"
    reopen = ticket.events.filter(kind=K.STATUS).order_by("-occurred_at", "-id").first()
    assert reopen.data == {"from": "solved", "to": "open", "imp": ""}
    out, _ = run_import(write_lines(tmp_path, [changed], "again.jsonl"))
    assert "1 unchanged" in out and TicketEvent.objects.count() == total_before + 2


def _same_instant_messages(ext):
    author = {"email": f"{ext.lower()}@example.com", "role": "customer"}
    msg = {"at": "2025-11-04T10:00:00.123456+00:00", "type": "message", "author": author, "visibility": "public"}
    return line(ext, events=[{**msg, "body": "One"}, {**msg, "body": "Two"}])


def test_the_fingerprint_keeps_only_what_the_row_does_not_spell(configured, tmp_path):
    """docs/database-size.md: an imported row stores its fingerprint's rest ("" or "#n") under
    `imp`; kind and instant spell the rest. The API shows the whole fingerprint as before, and a
    re-import of the line recognises every row."""
    run_import(write_lines(tmp_path, [_same_instant_messages("FP-1")]))
    ticket = Ticket.objects.get(external_id="FP-1")
    events = list(ticket.events.order_by("occurred_at", "id"))
    assert all("import_fp" not in e.data for e in events)
    assert [(e.kind, e.data["imp"]) for e in events] == [(K.CREATED, ""), (K.MESSAGE, ""), (K.MESSAGE, "#1")]
    staff = EventOutputSerializer(events, many=True, context={"staff": True}).data
    ms = int(events[1].occurred_at.timestamp() * 1000)
    assert [e["data"]["import_fp"] for e in staff] == ["created", f"message@{ms}", f"message@{ms}#1"]
    assert all("imp" not in e["data"] for e in staff)
    out, _ = run_import(write_lines(tmp_path, [_same_instant_messages("FP-1")], "again.jsonl"))
    assert "1 unchanged" in out and ticket.events.count() == 3


def test_rows_imported_with_the_whole_fingerprint_are_still_recognised(configured, tmp_path, monkeypatch):
    """Rows written before (the whole fingerprint under `import_fp`, as main wrote them) read the
    same: a changed line appends only its new event."""

    def whole(data, kind, at, fp):
        data["import_fp"] = fp

    monkeypatch.setattr(fingerprint, "store", whole)  # the previous layout, for the first import only
    first = _same_instant_messages("FP-2")
    run_import(write_lines(tmp_path, [first]))
    ticket = Ticket.objects.get(external_id="FP-2")
    assert all("import_fp" in e.data for e in ticket.events.all())
    monkeypatch.undo()
    changed = json.loads(json.dumps(first))
    changed["events"].append({"at": "2025-11-05T10:00:00+00:00", "type": "status", "to": "open"})
    out, _ = run_import(write_lines(tmp_path, [changed], "changed.jsonl"))
    assert "1 updated" in out
    assert ticket.events.count() == 4
    assert ticket.events.get(kind=K.STATUS).data == {"from": "new", "to": "open", "imp": ""}


def test_bad_lines_are_reported_with_line_numbers_and_good_lines_go_in(configured, tmp_path):
    """Invalid JSON, missing fields, unknown queue/priority and bad timestamps reject only their line."""
    lines = [
        line("G-1"),
        "{not json",
        {k: v for k, v in line("B-3").items() if k != "subject"},
        line("B-4", queue="nowhere"),
        line("B-5", created_at="2025-11-03 09:00"),
        line("B-6", priority="asap"),
        line("B-7", events=[{"at": "2025-11-03T10:00:00", "type": "status", "to": "open"}]),
        line("B-8", events=[{"at": "2025-11-03T10:00:00Z", "type": "teleport"}]),
        "",
        line("G-10", events=[{"at": "2025-11-03T15:00:00Z", "type": "status", "to": "open"}]),
    ]
    out, err = run_import(write_lines(tmp_path, lines))
    assert "9 lines: 2 imported, 0 updated, 0 unchanged, 7 rejected" in out
    assert "line 2: line rejected: invalid JSON" in err
    assert "line 3 [B-3]: line rejected: subject:" in err
    assert "line 4 [B-4]: line rejected: unknown queue 'nowhere'" in err
    assert "line 5 [B-5]: line rejected: created_at: '2025-11-03 09:00' has no UTC offset" in err
    assert "line 6 [B-6]: line rejected: priority: unknown priority 'asap'" in err
    assert "line 7 [B-7]: line rejected: events[0].at:" in err
    assert "line 8 [B-8]: line rejected: events[0].type: unknown event type 'teleport'" in err
    assert set(Ticket.objects.values_list("external_id", flat=True)) == {"G-1", "G-10"}
    g10 = Ticket.objects.get(external_id="G-10")
    assert g10.status == "open"
    # "Z" is read as the instant it names.
    assert g10.events.get(kind=K.STATUS).occurred_at.isoformat() == "2025-11-03T15:00:00+00:00"


def test_refused_transition_is_reported_and_the_rest_goes_in(configured, tmp_path):
    """closed -> open is refused by the state machine: reported with its line, not applied; later events stay."""
    events = [
        {"at": "2025-11-03T10:00:00-05:00", "type": "status", "to": "closed"},
        {"at": "2025-11-03T11:00:00-05:00", "type": "status", "to": "open"},
        {"at": "2025-11-03T11:05:00-05:00", "type": "assign", "to": "alice@acme.test"},
        {"at": "2025-11-03T12:00:00-05:00", "type": "csat", "scale": "good_bad", "value": "good"},
    ]
    out, err = run_import(write_lines(tmp_path, [line("R-1", events=events)]))
    assert "1 imported" in out and "2 events refused" in out
    assert (
        "line 1 [R-1]: event refused: events[1] (status at 2025-11-03T11:00:00-05:00): "
        "A ticket cannot move from 'closed' to 'open'" in err
    )
    assert "events[2] (assign" in err and "closed" in err
    ticket = Ticket.objects.get(external_id="R-1")
    assert ticket.status == "closed" and ticket.assignee is None
    assert list(ticket.events.order_by("occurred_at", "id").values_list("kind", flat=True)) == [
        K.CREATED,
        K.STATUS,
        K.CSAT,
    ]
    # The refusal is stable: the same line again is unchanged.
    out, _ = run_import(write_lines(tmp_path, [line("R-1", events=events)], "again.jsonl"))
    assert "1 unchanged" in out


def test_unknown_merge_target_is_refused_and_duplicate_external_id_rejected(configured, tmp_path):
    lines = [
        line("M-1", events=[{"at": "2025-11-03T10:00:00Z", "type": "merged_into", "target": "NOPE"}]),
        line("M-2"),
        line("M-2"),
    ]
    out, err = run_import(write_lines(tmp_path, lines))
    assert "2 imported" in out and "1 rejected" in out and "1 events refused" in out
    assert "merge target 'NOPE' was not found" in err
    assert "line 3 [M-2]: line rejected: external_id 'M-2' appears more than once in this file (line 2)" in err
    assert Ticket.objects.get(external_id="M-1").merged_into is None


def test_create_queues_option(configured, tmp_path):
    """--create-queues kind=support creates unknown queues instead of rejecting their lines."""
    lines = [line("Q-1", queue="new-queue", events=[{"at": "2025-11-03T10:00:00Z", "type": "queue", "to": "tier2"}])]
    out, _ = run_import(write_lines(tmp_path, lines), "--create-queues", "kind=support")
    assert "1 imported" in out
    assert Queue.objects.get(slug="new-queue").kind == "support"
    ticket = Ticket.objects.get(external_id="Q-1")
    assert ticket.queue.slug == "tier2" and ticket.kind == "support"
    assert ticket.events.get(kind=K.QUEUE).data["escalation"] is False


@pytest.mark.django_db(transaction=True)
def test_pipelined_writer_imports_the_examples(tmp_path):
    """Outside a transaction the writer thread is used; same result, nothing left half-written."""
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"), stdout=StringIO())
    path = tmp_path / "examples.jsonl"
    path.write_text((FIXTURES / "examples.jsonl").read_text() * 1)
    out, _ = run_import(path, "--batch-size", "3")
    assert "16 imported" in out and "0 rejected; 0 events refused" in out
    assert TicketEvent.objects.count() == 16 + sum(len(d["events"]) for d in LINES)
    assert Ticket.objects.get(external_id="T-113").merged_into == Ticket.objects.get(external_id="T-114")
    out, _ = run_import(path)
    assert "16 unchanged" in out


def test_sla_due_times_are_right_after_import_and_quiet_tickets_are_skipped(configured, tmp_path):
    """The import refreshes SLA state only for tickets it can change (not resolved
    long ago); afterwards a full refresh of every imported ticket changes nothing."""
    from django.utils import timezone

    from tickets import config
    from tickets.sla_services import tickets_sla_refresh

    config.config_apply(
        {
            "sla_policies": [
                {
                    "name": "clock",
                    "pause_statuses": ["pending"],
                    "targets": {"high": {"first_response": 3600, "resolution": 7200, "business_hours": False}},
                }
            ],
            "queues": [{"slug": "clock", "name": "Clock", "kind": "support", "sla_policy": "clock"}],
        }
    )
    now = timezone.now()

    def ago(**kw):
        return (now - timedelta(**kw)).isoformat()

    agent = {"email": "alice@acme.test", "role": "agent"}
    lines = [
        # Open, no reply yet: first response and resolution are due.
        line("S-OPEN", priority="high", created_at=ago(days=2)),
        # Replied, then pending: resolution paused, nothing due.
        line(
            "S-PENDING",
            priority="high",
            created_at=ago(days=3),
            events=[
                {"at": ago(days=2), "type": "message", "author": agent, "body": "More details?"},
                {"at": ago(days=2), "type": "status", "to": "pending"},
            ],
        ),
        # Solved an hour ago, resolution (2 h, round the clock) breached 3 h
        # ago: resolved, but a recent breach the scan must still mark.
        line(
            "S-RECENT",
            queue="clock",
            priority="high",
            created_at=ago(hours=5),
            events=[{"at": ago(hours=1), "type": "status", "to": "solved"}],
        ),
        # Closed months ago: nothing stored, nothing to refresh.
        line(
            "S-OLD",
            priority="high",
            events=[
                {"at": "2025-11-03T10:00:00-05:00", "type": "message", "author": agent, "body": "Done."},
                {"at": "2025-11-03T10:05:00-05:00", "type": "status", "to": "solved"},
                {"at": "2025-11-07T10:05:00-05:00", "type": "status", "to": "closed"},
            ],
        ),
    ]
    out, err = run_import(write_lines(tmp_path, lines))
    assert "4 imported" in out, err
    t = {x.external_id: x for x in Ticket.objects.all()}
    assert t["S-OPEN"].first_response_due_at is not None and t["S-OPEN"].resolution_due_at is not None
    assert t["S-OPEN"].sla_due_at == t["S-OPEN"].first_response_due_at
    assert t["S-OPEN"].first_response_due_at > datetime.fromisoformat(ago(days=2))
    assert t["S-PENDING"].sla_due_at is None and t["S-PENDING"].resolution_due_at is None
    assert t["S-RECENT"].sla_due_at is None and t["S-RECENT"].sla_next_check_at is not None
    old = t["S-OLD"]
    assert (old.sla_due_at, old.first_response_due_at, old.resolution_due_at, old.sla_next_check_at) == (None,) * 4
    # What the import stored is exactly what a refresh computes now.
    assert tickets_sla_refresh(ticket_ids=[x.pk for x in t.values()], now=timezone.now()) == 0


def test_line_the_database_refuses_is_reported_and_its_batch_goes_in(configured, tmp_path):
    """A line PostgreSQL refuses (here a NUL character, which jsonb cannot hold)
    is isolated and reported; the other lines of its batch are written."""
    bad = line("D-2", events=[{"at": "2025-11-03T12:00:00Z", "type": "csat", "value": 5, "comment": "a\u0000b"}])
    out, err = run_import(write_lines(tmp_path, [line("D-1"), bad, line("D-3")]))
    assert "3 lines: 2 imported" in out and "1 rejected" in out
    assert "line 2 [D-2]: line rejected: database refused the line:" in err
    assert set(Ticket.objects.values_list("external_id", flat=True)) == {"D-1", "D-3"}
    assert TicketEvent.objects.filter(ticket__external_id="D-1", kind=K.CREATED).count() == 1


def test_json_edge_cases_keep_their_messages(configured, tmp_path):
    """orjson reads the lines; what it refuses is re-read by the standard
    library for its message (or accepted, e.g. a NaN in an unused field)."""
    path = tmp_path / "edge.jsonl"
    good = json.dumps(line("J-1"))
    nan = json.dumps(line("J-2"))[:-1] + ', "extra": NaN}'
    path.write_bytes(
        (good + "\n" + '{"external_id": "J-3",}\n' + nan + "\n").encode() + b'{"external_id": "J-4\xff"}\n'
    )
    out, err = run_import(path)
    assert "4 lines: 2 imported" in out and "2 rejected" in out
    assert "line 2: line rejected: invalid JSON: Expecting property name enclosed in double quotes at column 23" in err
    assert "line 4: line rejected: not UTF-8 text (invalid start byte at byte 20)" in err
    assert set(Ticket.objects.values_list("external_id", flat=True)) == {"J-1", "J-2"}


def test_copy_escaping_round_trips_special_characters(configured, tmp_path):
    """Tabs, newlines, carriage returns, backslashes and quotes survive COPY's
    text format in message bodies, subjects and event data (jsonb)."""
    tricky = 'tab\there\nnew line\r\\back\\slash "quoted" \\N é ✓'
    events = [
        {
            "at": "2025-11-03T10:00:00Z",
            "type": "message",
            "author": {"email": "alice@acme.test", "role": "agent"},
            "body": tricky,
        },
        {"at": "2025-11-03T11:00:00Z", "type": "csat", "value": 4, "comment": tricky},
        {"at": "2025-11-03T11:30:00Z", "type": "tag", "add": ["a\\b"]},
    ]
    out, err = run_import(write_lines(tmp_path, [line("E-1", subject="S\\t\tx", description=tricky, events=events)]))
    assert "1 imported" in out, err
    ticket = Ticket.objects.get(external_id="E-1")
    assert ticket.subject == "S\\t\tx"
    assert list(ticket.messages.order_by("created_at").values_list("body", flat=True)) == [tricky, tricky]
    assert ticket.events.get(kind=K.CSAT).data["comment"] == tricky
    assert ticket.events.get(kind=K.TAGS).data["add"] == ["a\\b"]
    assert list(ticket.tags.values_list("name", flat=True)) == ["a\\b"]


def test_imported_tickets_are_searchable(db, tmp_path, django_user_model):
    """The import writes the search documents in its batch transaction."""
    from tickets.search import ticket_search_for_user

    manager = django_user_model.objects.create_user(email="boss@acme.test", password="x", role="manager")
    path = tmp_path / "one.jsonl"
    path.write_text(
        '{"external_id": "S-1", "queue": "srch", "subject": "Invoice totals wrong", "priority": "normal",'
        ' "channel": "email", "requester": {"email": "zed@example.com"}, "created_at": "2025-10-27T09:00:00Z",'
        ' "created_by": {"email": "zed@example.com", "role": "customer"},'
        ' "description": "The quarterly spreadsheet shows doubled amounts.", "events": []}\n'
    )
    call_command("import_tickets", str(path), "--create-queues", "kind=service", stdout=StringIO())
    found = ticket_search_for_user(user=manager, query="spreadsheet")
    assert [t.external_id for t in found] == ["S-1"]
    assert not ticket_search_for_user(user=manager, query="nonexistentword").exists()
