"""Split queues end to end: two real workers, each consuming one queue
(docker-compose.yml's worker-mail and worker-metrics), and the routing of
helpdesk/celery.py deciding where each task runs."""

import subprocess
import sys

import pytest

from helpdesk.celery import QUEUES, TASK_ROUTES, app
from mail.models import InboundMessage
from metrics.models import TicketMetrics
from tests.mail.conftest import mime
from tests.scaling.conftest import ROOT, broker, process_env, stop, wait_for


def _worker(redis_url: str, queue: str, log_path, **env: str) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool=solo", "-l", "info", "-Q", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{queue}-scaling@%h"],
        env=process_env(redis_url, **env),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_routing_covers_the_split_queues():
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in TASK_ROUTES}
    assert routed["mail.inbound_process"] == "mail"
    assert routed["mail.notification_send"] == routed["webhooks.deliver"] == "outbox"
    assert routed["metrics.recompute_dirty"] == "metrics"
    assert routed["metrics.rebuild_range"] == "long_running"
    assert app.amqp.router.route({}, "tickets.sla_breach_scan")["queue"].name == "default"
    assert {q.name for q in app.conf.task_queues} == set(QUEUES)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_intake_runs_on_the_mail_worker_and_metrics_on_the_metrics_worker(queue, scratch_redis, tmp_path):
    """A raw e-mail is enqueued for intake; the mail worker opens the ticket,
    whose commit wakes the metrics recompute, which the metrics worker runs."""
    redis_url = scratch_redis(11)
    env = {"HELPDESK_MAIL_DEFAULT_QUEUE": queue.slug}
    mail_log, metrics_log = tmp_path / "mail.log", tmp_path / "metrics.log"
    workers = [_worker(redis_url, "mail", mail_log, **env), _worker(redis_url, "metrics", metrics_log, **env)]
    try:
        with broker(redis_url):
            assert wait_for(lambda: len(app.control.ping(timeout=0.5)) == 2), "two workers did not start"
            from mail.services import inbound_store
            from mail.tasks import inbound_enqueue

            inbound = inbound_store(mime(subject="Split queues"), source="http")
            assert inbound_enqueue(inbound.pk)

            def ticket_metrics():
                ticket_id = InboundMessage.objects.get(pk=inbound.pk).ticket_id
                return ticket_id and TicketMetrics.objects.filter(ticket_id=ticket_id).first()

            assert wait_for(ticket_metrics), "ticket not opened by the mail worker or its metrics not computed"
    finally:
        for proc in workers:
            stop(proc)
    mail_out, metrics_out = mail_log.read_text(), metrics_log.read_text()
    assert "mail.inbound_process[" in mail_out and "succeeded" in mail_out
    assert "metrics.recompute_dirty[" in metrics_out and "succeeded" in metrics_out
    # Each task ran only where its queue is consumed.
    assert "mail.inbound_process[" not in metrics_out
    assert "metrics.recompute_dirty[" not in mail_out


def test_compose_runs_one_scalable_worker_service_per_queue_and_one_beat():
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    consumed = {}
    for name, service in services.items():
        words = str(service.get("command", "")).split()
        if "worker" in words:
            consumed[name] = words[words.index("-Q") + 1].split(",")
            # `--scale worker-metrics=4` needs generated names, no host port
            # (two containers cannot bind one) and no fixed replica count.
            assert "container_name" not in service and "ports" not in service, name
            assert "replicas" not in service.get("deploy", {}), name
    assert sorted(q for queues in consumed.values() for q in queues) == sorted(QUEUES)
    assert consumed["worker-metrics"] == ["metrics"] and consumed["worker-mail"] == ["mail"]
    beats = [n for n, s in services.items() if "beat" in str(s.get("command", "")).split()]
    assert beats == ["beat"] and services["beat"]["deploy"]["replicas"] == 1


@pytest.mark.worker
def test_a_worker_started_without_q_consumes_every_queue(scratch_redis, tmp_path):
    """`make run` starts its embedded worker without -Q (scripts/run.sh)."""
    redis_url = scratch_redis(11)
    log = open(tmp_path / "all.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool=solo", "-l", "warning",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", "all-scaling@%h"],
        env=process_env(redis_url), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with broker(redis_url):
            assert wait_for(lambda: app.control.ping(timeout=0.5)), "worker did not start"
            active = app.control.inspect(timeout=2).active_queues() or {}
    finally:
        stop(proc)
        log.close()
    assert len(active) == 1
    assert sorted(q["name"] for q in next(iter(active.values()))) == sorted(QUEUES)


def test_compose_passes_storage_and_replica_settings_to_every_app_service():
    """Object storage and read replicas are chosen by environment
    (docs/storage.md, docs/scaling.md): every process of the app must get
    the same values, or a worker would write attachments to its own disk."""
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    app_services = [n for n, s in services.items() if s.get("image") == "helpdesk:latest"]
    assert {"web", "worker-mail", "worker-metrics", "beat"} <= set(app_services)
    for name in app_services:
        env = services[name]["environment"]
        for key in ("STORAGE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_REPLICA_URL"):
            assert env.get(key) == f"${{{key}:-}}", (name, key)  # empty by default: disk, no replica
