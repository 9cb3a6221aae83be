"""Progress reporting for long management commands (SPEC 10).

On a terminal: a tqdm bar with rate and time left. Otherwise (logs, CI,
pipes): one plain line every `interval` seconds with done/total, rate and
ETA. Used by import_tickets, seed_demo and metrics_rebuild.

    with Progress(total=n, unit="tickets", desc="Importing", stream=self.stdout) as bar:
        for batch in batches:
            ...
            bar.update(len(batch))
"""

import sys
import time
from typing import IO, Any


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A progress bar on a TTY, periodic plain lines otherwise.

    `stream` may be a file or a Django OutputWrapper (has `_out`).
    `enabled=False` silences it (e.g. --verbosity 0).
    """

    def __init__(
        self,
        *,
        total: int | None = None,
        unit: str = "items",
        desc: str = "",
        stream: Any = None,
        interval: float = 5.0,
        enabled: bool = True,
        force_plain: bool = False,
    ):
        self.total = total
        self.unit = unit
        self.desc = desc
        self.interval = interval
        self.enabled = enabled
        self.n = 0
        self.started = time.monotonic()
        self._last_print = self.started
        raw = getattr(stream, "_out", stream) or sys.stderr
        self._stream: IO[str] = raw
        self._bar: Any = None
        if enabled and not force_plain and _isatty(raw):
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=f" {unit}", desc=desc, file=raw, dynamic_ncols=True, unit_scale=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed
        return self.n / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        if not self.total or not self.rate:
            return None
        return max(0.0, (self.total - self.n) / self.rate)

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._write(self.line())

    def line(self) -> str:
        done = f"{self.n:,}" + (f"/{self.total:,} ({100 * self.n / self.total:.1f}%)" if self.total else "")
        eta = self.eta()
        parts = [
            f"{self.desc}: {done} {self.unit}",
            f"{self.rate:,.0f} {self.unit}/s",
            f"elapsed {_fmt_duration(self.elapsed)}",
        ]
        if eta is not None:
            parts.append(f"ETA {_fmt_duration(eta)}")
        return ", ".join(parts)

    def set_postfix(self, text: str) -> None:
        if self._bar is not None and self.enabled:
            self._bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and self.n:
            self._write(self.line())
        self.enabled = False

    def _write(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
