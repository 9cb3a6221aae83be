"""SQL functions the embedded SQLite default lacks, registered per connection.

PostgreSQL is the production database; these keep the same queries working
(slower, in Python) on the one-command SQLite demo.
"""

from typing import Any


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL percentile_cont semantics (linear interpolation)."""
    if not values:
        return None
    values = sorted(values)
    pos = fraction * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


class PercentileContAggregate:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: Any, fraction: Any) -> None:
        if value is not None:
            self.values.append(float(value))
        self.fraction = float(fraction)

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.fraction)


def register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: add percentile_cont_py to SQLite."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("percentile_cont_py", 2, PercentileContAggregate)
