"""Write-side cost of the survey facts: CPU of `survey_facts_of` against `compute` per ticket.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_surveyfacts_bench .venv/bin/python \
      bench/survey_facts_cost.py   # the first 3,000 tickets (bench/DASHBOARD.md "Survey tiles from survey facts")
"""

import os
import sys
import time

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
import django

django.setup()

from metrics.compute import compute  # noqa: E402
from metrics.services import events_by_ticket, metrics_context  # noqa: E402
from metrics.survey_facts import survey_facts_of  # noqa: E402
from tickets.models import Ticket  # noqa: E402

ids = list(Ticket.objects.order_by("id").values_list("id", flat=True)[:3000])
evs = events_by_ticket(ids)
ctx = metrics_context()
n = sum(len(v) for v in evs.values())
t0 = time.process_time()
facts = sum(len(survey_facts_of(t, e)) for t, e in evs.items())
t1 = time.process_time()
for e in evs.values():
    compute(e, ctx)
t2 = time.process_time()
per = 1000 / len(evs)
print(f"{len(evs)} tickets, {n} events, {facts} facts:", end=" ")
print(f"survey_facts_of {per * (t1 - t0):.3f} ms/ticket CPU, compute {per * (t2 - t1):.3f} ms/ticket CPU")
