"""Metrics tables derived from the ticket event log (docs/metrics.md §4.1).

Every row here is recomputable from `tickets.TicketEvent`: ids are plain
integers (no foreign keys) so metrics writes never lock ticket rows.
"""

from django.db import models
from django.utils import timezone


class MetricsDirty(models.Model):
    """Tickets whose metrics must be recomputed (transactional outbox).

    A row is inserted in the same transaction as every event; workers claim
    rows with FOR UPDATE SKIP LOCKED and delete them once recomputed.
    """

    ticket_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "metrics dirty tickets"


def _dur() -> models.FloatField:
    return models.FloatField(null=True, blank=True)


# Filter columns of the dashboard, carried by every cohort index.
_FILTER_INCLUDE = ("kind", "queue_id", "priority", "channel")

# (index suffix, attributed agent, cohort instant) of the cohorts an agent filter reads exactly
# (no agent cells: metrics.dashboard.rollup.AGENT_CELL_COHORTS). The key leads with the agent,
# so the range is that agent's rows of the period, whatever the other agents' volume.
_AGENT_COHORT_KEYS = (
    ("ag_first_res", "resolver_id", "first_resolved_at"),
    ("ag_last_res", "resolver_id", "last_resolved_at"),
    ("ag_offered", "resolver_id", "csat_offered_at"),
    ("ag_sla_fr", "assignee_id", "sla_first_reply_outcome_at"),
    ("ag_sla_res", "assignee_id", "sla_resolution_outcome_at"),
)


# Segment columns an agent-filtered cohort statement reads besides agent and instant
# (metrics.dashboard.sql_cohorts._segment_rows): with them INCLUDEd the segment read is an
# index-only scan instead of one heap page per segment (bench/DASHBOARD.md "Fourth round (session 9)").
# The last resolution is left out: it reads ~20 columns and joins the ticket rows anyway.
_SEGMENT_ROW_INCLUDE = ("ticket_id", "kind", "last_res_here", *_FILTER_INCLUDE[1:])
_AGENT_SEGMENT_INCLUDE = {
    "ag_first_res": ("reopens", "first_resolution_cal_s", "first_resolution_bus_s"),
    "ag_offered": ("csat_at",),
    "ag_sla_fr": ("sla_first_reply_outcome",),
    "ag_sla_res": ("sla_resolution_outcome",),
}


def _agent_indexes(prefix: str, *, segment: bool) -> list[models.Index]:
    """(agent, instant) partial indexes; TicketMetrics also for the first escalation (not per segment)."""
    keys: tuple[tuple[str, str, str], ...] = _AGENT_COHORT_KEYS
    if not segment:
        keys = (*keys, ("ag_first_esc", "assignee_id", "first_escalated_at"))
    out = []
    for suffix, agent, instant in keys:
        cond = models.Q(**{f"{instant}__isnull": False})
        if not segment:
            cond &= models.Q(excluded=False)
        include = (*_SEGMENT_ROW_INCLUDE, *_AGENT_SEGMENT_INCLUDE[suffix]) if suffix in _AGENT_SEGMENT_INCLUDE else ()
        out.append(
            models.Index(
                fields=[agent, instant], name=f"{prefix}_{suffix}", condition=cond, include=include if segment else ()
            )
        )
    return out


class TicketMetrics(models.Model):
    """One row per ticket: every M1-M14 value, cohort instants, attribution, flags.

    Seconds are floats (sub-second precision kept). `data` holds the full
    exported row (expected.json field names, user ids instead of emails).
    """

    ticket_id = models.BigIntegerField(primary_key=True)
    definition_version = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)
    as_of = models.DateTimeField()

    excluded = models.BooleanField(default=False)
    excluded_reason = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField()
    created_resolved = models.BooleanField(default=False)
    queue_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=16, blank=True)
    priority = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16)
    assignee_id = models.BigIntegerField(null=True)

    first_reply_at = models.DateTimeField(null=True)
    first_replier_id = models.BigIntegerField(null=True)
    frt_cal_s = _dur()
    frt_bus_s = _dur()
    first_resolved_at = models.DateTimeField(null=True)
    first_resolution_cal_s = _dur()
    first_resolution_bus_s = _dur()
    last_resolved_at = models.DateTimeField(null=True)
    resolver_id = models.BigIntegerField(null=True)
    full_resolution_cal_s = _dur()
    full_resolution_bus_s = _dur()
    requester_wait_cal_s = _dur()
    requester_wait_bus_s = _dur()
    agent_wait_cal_s = _dur()
    agent_wait_bus_s = _dur()
    on_hold_cal_s = _dur()
    on_hold_bus_s = _dur()
    time_in_progress_cal_s = _dur()
    time_in_progress_bus_s = _dur()
    queue_time_cal_s = _dur()
    queue_time_bus_s = _dur()
    agent_work_cal_s = _dur()
    agent_work_bus_s = _dur()
    solved_before_reopen_cal_s = _dur()
    solved_before_reopen_bus_s = _dur()

    reopens = models.PositiveIntegerField(default=0)
    substantive_reopens = models.PositiveIntegerField(default=0)
    public_agent_replies = models.PositiveIntegerField(default=0)
    fcr_eligible = models.BooleanField(default=False)
    fcr = models.BooleanField(default=False)
    zero_touch = models.BooleanField(default=False)
    assignee_stations = models.PositiveIntegerField(default=0)
    group_stations = models.PositiveIntegerField(default=0)
    # Escalations (docs/metrics.md#escalations): kind-changing queue moves, per direction.
    escalations = models.PositiveIntegerField(default=0)
    escalations_to_service = models.PositiveIntegerField(default=0)
    escalations_to_support = models.PositiveIntegerField(default=0)
    first_escalated_at = models.DateTimeField(null=True)
    time_to_escalation_cal_s = _dur()
    time_to_escalation_bus_s = _dur()
    # Full resolution time of tickets escalated before their last resolution, and of the others.
    resolution_escalated_cal_s = _dur()
    resolution_escalated_bus_s = _dur()
    resolution_not_escalated_cal_s = _dur()
    resolution_not_escalated_bus_s = _dur()

    csat_offered = models.BooleanField(default=False)
    csat_offered_at = models.DateTimeField(null=True)
    csat_at = models.DateTimeField(null=True)
    csat_value = models.CharField(max_length=8, blank=True)
    csat_score = models.PositiveSmallIntegerField(null=True)  # 1-5 scale only
    csat_satisfied = models.BooleanField(null=True)
    csat_agent_id = models.BigIntegerField(null=True)
    # M15 CES (docs/surveys.md): the latest answer (1-7), easy = 5 or more.
    ces_offered = models.BooleanField(default=False)
    ces_offered_at = models.DateTimeField(null=True)
    ces_at = models.DateTimeField(null=True)
    ces_value = models.PositiveSmallIntegerField(null=True)
    ces_easy = models.BooleanField(null=True)

    handle_s = _dur()
    time_logged_s = _dur()

    sla_first_reply_target_s = _dur()
    sla_first_reply_outcome = models.CharField(max_length=16, blank=True)
    sla_first_reply_elapsed_s = _dur()
    sla_first_reply_breach_at = models.DateTimeField(null=True)
    sla_first_reply_outcome_at = models.DateTimeField(null=True)
    sla_resolution_target_s = _dur()
    sla_resolution_outcome = models.CharField(max_length=16, blank=True)
    sla_resolution_elapsed_s = _dur()
    sla_resolution_breach_at = models.DateTimeField(null=True)
    sla_resolution_outcome_at = models.DateTimeField(null=True)
    # Next reply (M2 clock): one outcome per cycle; counts and the latest outcome instant.
    sla_next_reply_target_s = _dur()
    sla_next_reply_achieved = models.PositiveIntegerField(default=0)
    sla_next_reply_breached = models.PositiveIntegerField(default=0)
    sla_next_reply_outcome_at = models.DateTimeField(null=True)
    sla_next_breach_at = models.DateTimeField(null=True)

    data = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "ticket metrics"
        # One covering partial index per cohort instant (docs/metrics.md §4.1/4.3): the dashboard's
        # cohort aggregates are index-only range scans of a narrow index instead of reads
        # of the wide heap rows. INCLUDE = filters, attribution and the cohort's values.
        indexes = [
            models.Index(
                fields=["first_reply_at"],
                include=[*_FILTER_INCLUDE, "first_replier_id", "frt_cal_s", "frt_bus_s"],
                name="tm_first_reply",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["last_resolved_at"],
                include=[
                    *_FILTER_INCLUDE,
                    "resolver_id",
                    # backlog candidates (resolved in or after the period, or unresolved)
                    "ticket_id",
                    "created_at",
                    "assignee_id",
                    "full_resolution_cal_s",
                    "full_resolution_bus_s",
                    "requester_wait_cal_s",
                    "requester_wait_bus_s",
                    "agent_wait_cal_s",
                    "agent_wait_bus_s",
                    "time_in_progress_cal_s",
                    "time_in_progress_bus_s",
                    "handle_s",
                    "fcr",
                    "fcr_eligible",
                    "zero_touch",
                    "resolution_escalated_cal_s",
                    "resolution_escalated_bus_s",
                    "resolution_not_escalated_cal_s",
                    "resolution_not_escalated_bus_s",
                ],
                name="tm_last_resolved",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["first_resolved_at"],
                include=[
                    *_FILTER_INCLUDE,
                    "resolver_id",
                    "first_resolution_cal_s",
                    "first_resolution_bus_s",
                    "reopens",
                ],
                name="tm_first_resolved",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["created_at"],
                include=[
                    *_FILTER_INCLUDE,
                    "assignee_id",
                    "last_resolved_at",
                    "escalations",
                    "escalations_to_service",
                    "escalations_to_support",
                ],
                name="tm_created",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["first_escalated_at"],
                include=[
                    *_FILTER_INCLUDE,
                    "assignee_id",
                    "escalations",
                    "time_to_escalation_cal_s",
                    "time_to_escalation_bus_s",
                ],
                name="tm_first_escalated",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["csat_at"],
                include=[*_FILTER_INCLUDE, "csat_agent_id", "csat_satisfied", "csat_score"],
                name="tm_csat",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["csat_offered_at"],
                include=[*_FILTER_INCLUDE, "resolver_id", "csat_at"],
                name="tm_csat_offered",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["sla_first_reply_outcome_at"],
                include=[*_FILTER_INCLUDE, "assignee_id", "sla_first_reply_outcome"],
                name="tm_sla_fr_outcome",
                condition=models.Q(excluded=False),
            ),
            models.Index(
                fields=["sla_resolution_outcome_at"],
                include=[*_FILTER_INCLUDE, "assignee_id", "sla_resolution_outcome"],
                name="tm_sla_res_outcome",
                condition=models.Q(excluded=False),
            ),
            # The backlog now (dashboard rollup mode): currently unsolved tickets with their age.
            models.Index(
                fields=["created_at"],
                include=["kind", "queue_id", "status"],
                name="tm_backlog_now",
                condition=models.Q(excluded=False, status__in=["new", "open", "pending", "on_hold"]),
            ),
            models.Index(
                fields=["sla_next_breach_at"],
                name="tm_sla_next_breach",
                condition=models.Q(sla_next_breach_at__isnull=False),
            ),
            *_agent_indexes("tm", segment=False),
            # An agent-filtered backlog's candidates (the agent's tickets unresolved at some instant of
            # the period): the agent's rows, not a scan of every ticket (docs/metrics.md "Filters and the cells").
            models.Index(
                fields=["assignee_id", "last_resolved_at"],
                include=["created_at"],
                name="tm_ag_backlog",
                condition=models.Q(excluded=False),
            ),
        ]

    def __str__(self) -> str:
        return f"metrics of #{self.ticket_id}"


class TicketAgentHandle(models.Model):
    """Handle time of one agent on one ticket (union of their sessions, M9)."""

    ticket_id = models.BigIntegerField()
    agent_id = models.BigIntegerField()
    handle_s = models.FloatField()
    sessions = models.JSONField(default=list)  # [[start_ts, end_ts], ...] for busy time

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket_id", "agent_id"], name="tah_ticket_agent")]
        indexes = [models.Index(fields=["agent_id"], name="tah_agent")]


class TicketNextReply(models.Model):
    """One answered next-reply run (M2, docs/metrics.md#next-reply-time-aggregates): the reply instant
    (the cohort), its calendar and business seconds, the replier, and the ticket's filter columns
    (written with the ticket's TicketMetrics row, so the dashboard reads this table alone)."""

    ticket_id = models.BigIntegerField()
    replied_at = models.DateTimeField()
    next_reply_cal_s = models.FloatField()
    next_reply_bus_s = models.FloatField()
    agent_id = models.BigIntegerField(null=True)
    excluded = models.BooleanField(default=False)
    queue_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=16, blank=True)
    priority = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=16, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["ticket_id"], name="tnr_ticket"),
            models.Index(
                fields=["replied_at"],
                include=[*_FILTER_INCLUDE, "agent_id", "next_reply_cal_s", "next_reply_bus_s"],
                name="tnr_replied",
                condition=models.Q(excluded=False),
            ),
        ]


class TicketStatusInterval(models.Model):
    """[started_at, ended_at) in one status; ended_at NULL = current (backlog, M13)."""

    ticket_id = models.BigIntegerField()
    status = models.CharField(max_length=16)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["ticket_id"], name="tsi_ticket"),
            # No (started_at, ended_at) index: no backlog query's plan used one (bench/PERF_SECOND_PASS.md,
            # "Storage, second round"); the backlog reads tsi_unsolved_end.
            # Backlog over a period: unsolved intervals still open at its start (ended_at >= start or NULL),
            # read index-only.
            models.Index(
                fields=["ended_at"],
                include=["started_at", "ticket_id", "status"],
                name="tsi_unsolved_end",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
        ]


class DashboardRollup(models.Model):
    """Dashboard rollup cell (docs/metrics.md §4.1 `metrics_daily` with histograms).

    Grain: (dim, metric, span, start, key, kind, bin). `dim` '' = every queue,
    'q' = one queue (`key` = queue id, 0 = none), 'a' = one agent (`key` = the
    cohort's attributed agent; only the agent-table metrics), 'qa' = one agent
    within one queue (`key` = queue << 32 | agent; the agent table under a queue
    filter). `span` 'd' = one
    local day in the reporting zone, 'w' = the local week starting Monday
    `start`, 'm' = the calendar month starting `start`, so a long range reads a
    few month and week cells plus its edge days.
    `bin` -1 holds n / sum / numerator / denominator of a count or backlog metric; a
    duration's cells are its log-spaced histogram bins (metrics/rollup.py EDGES),
    each with the count and sum of its values, from which long-range percentiles
    are interpolated (docs/metrics.md §4.3). Day cells of dims '' / 'a' hold only
    the differences of kinds and whole tickets to the queue cells
    (docs/metrics.md#rollup-cell-shape).
    Maintained by retract-and-apply in the recompute transaction (day cells only;
    the week and month cells follow by `metrics.rollup.fold`, see
    `DashboardRollupStale`), rebuilt set-based by `metrics_rollups_rebuild`.
    """

    # The grain is the primary key (no surrogate id: 8 bytes a cell plus a 19 MB per 100k index no
    # query used; docs/database-size.md). Key after start: a cover cell of the agent dimension is
    # one index range over every agent; the backlog prefix sum is one range of ('bl_in', 'd',
    # start < X). On PostgreSQL the key's index also carries n / sum_s / num / den (INCLUDE, set
    # by metrics/migrations/0016), so the dashboard's cell reads are index-only scans.
    pk = models.CompositePrimaryKey("dim", "metric", "span", "start", "key", "kind", "bin")
    dim = models.CharField(max_length=2, blank=True)
    key = models.BigIntegerField(default=0)
    span = models.CharField(max_length=1)
    start = models.DateField()
    metric = models.CharField(max_length=40)
    kind = models.CharField(max_length=16, blank=True)
    bin = models.SmallIntegerField(default=-1)
    # Counts of tickets per cell: 4 bytes (in the heap and again in the covering index) is ample.
    n = models.IntegerField(default=0)
    sum_s = models.FloatField(default=0)
    num = models.IntegerField(default=0)
    den = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.dim}{self.key} {self.span}{self.start} {self.metric}[{self.bin}]"


class DashboardRollupStale(models.Model):
    """A week or month of `DashboardRollup` cells not yet summed from its day cells.

    The recompute path writes day cells only and marks the week and month of each day it
    touched here; `metrics.rollup.fold` (periodic) recomputes those cells from the day
    cells and clears the mark. The dashboard reads a marked span from its days, so it is
    exact before the fold (docs/metrics.md#deferred-week-and-month-cells).
    """

    span = models.CharField(max_length=1)
    start = models.DateField()
    last = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["span", "start"], name="dashboard_rollup_stale_span")]

    def __str__(self) -> str:
        return f"{self.span}{self.start}"


class CesDay(models.Model):
    """The CES survey facts (`SurveyFact`, survey "ces") summed per local day, offer or answer,
    side and queue: the dashboard's CES tile on the rollup path sums a range of days here
    instead of every fact of both periods (docs/surveys.md "CES day cells").

    Days are in the rollup cells' zone (`metrics.rollup.cells_zone`); read only while it is the
    reporting zone. Kept by the recompute (the difference of the tickets' old and new CES facts,
    `metrics.ces_days`) and rebuilt from the facts with the rollup cells (`metrics.rollup.rebuild`).
    A few hundred rows per 100k tickets (days x queues x sides x 2), PostgreSQL only."""

    day = models.DateField()
    offer = models.BooleanField()  # True: first offers; False: answers
    side = models.CharField(max_length=32)  # the fact's side if a kind (support / service), else ""
    queue_id = models.BigIntegerField()  # the fact's queue, 0 for none
    rows = models.BigIntegerField(default=0)  # facts
    n = models.BigIntegerField(default=0)  # answers with an integer score
    easy = models.BigIntegerField(default=0)  # answers scoring >= 5
    total = models.DecimalField(max_digits=40, decimal_places=0, default=0)  # sum of the scores
    answered = models.BigIntegerField(default=0)  # offers answered at some time

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "offer", "side", "queue_id"], name="ces_day_key")]

    def __str__(self) -> str:
        return f"ces {self.day} {'offers' if self.offer else 'answers'} {self.side or '-'} q{self.queue_id}"


class TicketSegment(models.Model):
    """One queue segment of one ticket and the values attributed to it
    (docs/metrics.md#18-queue-and-kind-attribution-across-escalations).

    Written with the ticket's TicketMetrics row by the same compute path; columns are
    `metrics.segments.SEGMENT_COLUMNS`. Instant measures are set only on the segment
    holding their defining instant; `last_resolved_at` (the cohort of the shares) is the
    ticket's on every segment and `last_res_here` marks the segment of the last resolution;
    duration shares are NULL where the segment's window is empty (not counted there).
    Excluded tickets (spam, merged, deleted) have no segments.
    """

    ticket_id = models.BigIntegerField()
    idx = models.PositiveSmallIntegerField()
    queue_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=16, blank=True)
    priority = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)

    created_at = models.DateTimeField(null=True)  # segment 0 only (the created cohort)
    assignee_id = models.BigIntegerField(null=True)
    first_reply_at = models.DateTimeField(null=True)
    first_replier_id = models.BigIntegerField(null=True)
    frt_cal_s = _dur()
    frt_bus_s = _dur()
    first_resolved_at = models.DateTimeField(null=True)
    first_resolution_cal_s = _dur()
    first_resolution_bus_s = _dur()
    reopens = models.PositiveIntegerField(default=0)
    substantive_reopens = models.PositiveIntegerField(default=0)
    last_resolved_at = models.DateTimeField(null=True)
    last_res_here = models.BooleanField(default=False)
    resolver_id = models.BigIntegerField(null=True)
    full_resolution_cal_s = _dur()
    full_resolution_bus_s = _dur()
    fcr = models.BooleanField(default=False)
    fcr_eligible = models.BooleanField(default=False)
    zero_touch = models.BooleanField(default=False)
    public_agent_replies = models.PositiveIntegerField(default=0)
    next_reply_n = models.PositiveIntegerField(default=0)
    next_reply_cal_sum_s = _dur()
    next_reply_bus_sum_s = _dur()
    csat_offered_at = models.DateTimeField(null=True)
    csat_at = models.DateTimeField(null=True)
    csat_value = models.CharField(max_length=8, blank=True, null=True)
    csat_score = models.PositiveSmallIntegerField(null=True)
    csat_satisfied = models.BooleanField(null=True)
    csat_agent_id = models.BigIntegerField(null=True)
    sla_first_reply_outcome = models.CharField(max_length=16, null=True)
    sla_first_reply_outcome_at = models.DateTimeField(null=True)
    sla_resolution_outcome = models.CharField(max_length=16, null=True)
    sla_resolution_outcome_at = models.DateTimeField(null=True)
    sla_next_reply_achieved = models.PositiveIntegerField(default=0)
    sla_next_reply_breached = models.PositiveIntegerField(default=0)
    sla_next_reply_outcome_at = models.DateTimeField(null=True)

    requester_wait_cal_s = _dur()
    requester_wait_bus_s = _dur()
    agent_wait_cal_s = _dur()
    agent_wait_bus_s = _dur()
    on_hold_cal_s = _dur()
    on_hold_bus_s = _dur()
    time_in_progress_cal_s = _dur()
    time_in_progress_bus_s = _dur()
    queue_time_cal_s = _dur()
    queue_time_bus_s = _dur()
    agent_work_cal_s = _dur()
    agent_work_bus_s = _dur()
    solved_before_reopen_cal_s = _dur()
    solved_before_reopen_bus_s = _dur()
    handle_s = _dur()

    # The split lists: next_reply_cal_s / next_reply_bus_s, handle_by_agent_s.
    data = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket_id", "idx"], name="tseg_ticket_idx")]
        # One index per cohort instant the filtered dashboard reads (queue and kind filters).
        indexes = [
            models.Index(
                fields=["first_reply_at"], name="tseg_first_reply", condition=models.Q(first_reply_at__isnull=False)
            ),
            models.Index(
                fields=["last_resolved_at"],
                name="tseg_last_resolved",
                condition=models.Q(last_resolved_at__isnull=False),
            ),
            models.Index(
                fields=["first_resolved_at"],
                name="tseg_first_resolved",
                condition=models.Q(first_resolved_at__isnull=False),
            ),
            models.Index(fields=["created_at"], name="tseg_created", condition=models.Q(created_at__isnull=False)),
            models.Index(fields=["csat_at"], name="tseg_csat", condition=models.Q(csat_at__isnull=False)),
            models.Index(
                fields=["csat_offered_at"], name="tseg_csat_offered", condition=models.Q(csat_offered_at__isnull=False)
            ),
            models.Index(
                fields=["sla_first_reply_outcome_at"],
                name="tseg_sla_fr",
                condition=models.Q(sla_first_reply_outcome_at__isnull=False),
            ),
            models.Index(
                fields=["sla_resolution_outcome_at"],
                name="tseg_sla_res",
                condition=models.Q(sla_resolution_outcome_at__isnull=False),
            ),
            # An agent filter on the cohorts without agent cells (docs/metrics.md "Filters and the
            # cells"): the agent's segments in the period, not every segment of the period.
            *_agent_indexes("tseg", segment=True),
        ]

    def __str__(self) -> str:
        return f"segment {self.idx} of #{self.ticket_id}"


class SurveyFact(models.Model):
    """One survey offer or answer a window's survey KPIs count (docs/surveys.md "Survey facts"):
    per ticket, the first offer of CSAT and of CES (with `answered`: the ticket has an answer to it,
    any time), the latest CSAT and CES answer, and every NPS answer; each with its attribution
    (the queue kind and id at the last resolution before it, as `metrics.surveys.ticket_surveys`).

    Written with the ticket's TicketMetrics row (recompute and bulk rebuild) from the same walk;
    excluded tickets (spam, deleted, merged) have none. The dashboard's survey tiles aggregate an
    index range of this table instead of reading the event log."""

    ticket_id = models.BigIntegerField()
    event_id = models.BigIntegerField()  # log order among answers at the same instant
    survey = models.CharField(max_length=8)  # csat / ces / nps
    offer = models.BooleanField()  # True: the first offer; False: an answer
    at = models.DateTimeField()
    side = models.CharField(max_length=32, null=True)  # queue kind ("" before any place, null: a null kind)
    queue_id = models.BigIntegerField(null=True)
    customer_id = models.BigIntegerField(null=True)  # answers: the answering customer (else the requester)
    score = models.BigIntegerField(null=True)  # an integer answer (what the aggregates count)
    satisfied = models.BooleanField(null=True)  # CSAT answers: M10 satisfied
    answered = models.BooleanField(default=False)  # offers: answered at some time
    # The value, scale and comment as given stay in the event only (drill-downs read them by id; an
    # erasure redacts the comment there: docs/privacy.md): a fact is the few columns the aggregates read.

    class Meta:
        indexes = [
            models.Index(fields=["ticket_id"], name="sf_ticket"),
            models.Index(
                fields=["survey", "offer", "at"],
                include=["side", "queue_id", "score", "answered", "customer_id", "ticket_id", "event_id"],
                name="sf_survey_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} {'offer' if self.offer else 'answer'} of #{self.ticket_id}"
