from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from metrics.services import tickets_mark_dirty_subscriber
        from tickets import subscribers

        # The dirty mark is a transactional outbox: it must commit (or roll
        # back) with the events (docs/metrics-dirty-protocol.md).
        subscribers.subscribe(
            "metrics.dirty",
            tickets_mark_dirty_subscriber,
            topic=subscribers.TICKETS_CHANGED,
            phase=subscribers.IN_TRANSACTION,
            order=10,
        )
