"""Random ticket histories for property tests (reopens, late events, spam, CSAT, work sessions)."""

from datetime import timedelta

from tickets import services as ticket_services

ACTIONS = ("reply", "customer", "solve", "reopen", "pending", "spam", "late", "csat", "work")


def apply_action(action: str, ticket, agent, at) -> bool:
    """Apply one of the shared actions (reply, customer, solve, reopen, pending) to `ticket`
    (fresh from the database) at `at` when its status allows; False for any other action."""
    pk = ticket.pk
    if action == "reply":
        ticket_services.message_post(ticket_id=pk, author=agent, body="r", occurred_at=at, apply_rules=False)
    elif action == "customer":
        ticket_services.message_post(ticket_id=pk, author=ticket.requester, body="c", occurred_at=at, apply_rules=False)
    elif action == "solve" and ticket.status in ("new", "open", "pending", "on_hold"):
        ticket_services.ticket_assign(ticket_id=pk, assignee=agent, actor=agent, occurred_at=at)
        ticket_services.ticket_transition(ticket_id=pk, target="solved", actor=agent, occurred_at=at)
    elif action == "reopen" and ticket.status == "solved":
        ticket_services.ticket_transition(ticket_id=pk, target="open", actor=agent, occurred_at=at)
    elif action == "pending" and ticket.status in ("new", "open"):
        ticket_services.ticket_transition(ticket_id=pk, target="pending", actor=agent, occurred_at=at)
    else:
        return False
    return True


def random_action(rnd, ticket, agent, at, *, spam_p: float, late_hours: int, queues=None) -> str:
    """Apply one random action to `ticket` (fresh from the database) at `at`; return its name.
    With `queues`, one action in four moves the ticket to one of them (an escalation when the
    kind changes; docs/metrics.md §1.8) instead."""
    pk = ticket.pk
    if queues and rnd.random() < 0.25 and ticket.status != "closed":
        queue = rnd.choice(queues)
        ticket_services.ticket_move_queue(ticket_id=pk, queue=queue, actor=agent, reason="r", occurred_at=at)
        return "move"
    action = rnd.choice(ACTIONS)
    if action == "reply":
        ticket_services.message_post(ticket_id=pk, author=agent, body="r", occurred_at=at, apply_rules=False)
    elif action == "late":
        late = at - timedelta(hours=late_hours)
        ticket_services.message_post(ticket_id=pk, author=agent, body="r", occurred_at=late, apply_rules=False)
    elif action == "customer":
        ticket_services.message_post(ticket_id=pk, author=ticket.requester, body="c", occurred_at=at, apply_rules=False)
    elif action == "solve" and ticket.status in ("new", "open", "pending", "on_hold"):
        ticket_services.ticket_assign(ticket_id=pk, assignee=agent, actor=agent, occurred_at=at)
        ticket_services.ticket_transition(ticket_id=pk, target="solved", actor=agent, occurred_at=at)
    elif action == "reopen" and ticket.status == "solved":
        ticket_services.ticket_transition(ticket_id=pk, target="open", actor=agent, occurred_at=at)
    elif action == "pending" and ticket.status in ("new", "open"):
        ticket_services.ticket_transition(ticket_id=pk, target="pending", actor=agent, occurred_at=at)
    elif action == "spam" and rnd.random() < spam_p:
        ticket_services.ticket_mark_spam(ticket_id=pk, actor=agent, occurred_at=at)
    elif action == "csat":
        ticket_services.survey_respond(ticket_id=pk, survey="csat", value=rnd.randint(1, 5), occurred_at=at)
    elif action == "work":
        ticket_services.work_session_record(
            ticket_id=pk, agent=agent, started_at=at - timedelta(minutes=9), ended_at=at
        )
    return action
