"""The project's Celery app with one fast schedule entry, for the beat tests
(`celery -A tests.scaling.beat_app beat`): same scheduler settings, a tick a second."""

from helpdesk.celery import app

app.conf.beat_schedule = {"scaling-probe": {"task": "scaling.probe", "schedule": 1.0}}
