"""The line `vgi run` prints per finished scenario: count, verdict, scenario, its duration, and an
estimate of the time the campaign still needs."""

from __future__ import annotations

import time

from harness.verdict.results import ScenarioResult
from harness.verdict.verdicts import Verdict

_VERDICT_WIDTH = max(len(v.value) for v in Verdict)


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Counts finished scenarios; the estimate is the wall time per finished scenario so far times the
    scenarios left, so it already reflects how many workers run in parallel."""

    def __init__(self, clock=time.monotonic) -> None:  # noqa: ANN001 - a monotonic clock, injectable
        self._clock = clock
        self._start: float | None = None
        self.total = 0
        self.done = 0

    def start(self, total: int) -> None:
        self.total = total
        if self._start is None:
            self._start = self._clock()

    def remaining_s(self) -> float | None:
        if self._start is None or self.done == 0 or self.done >= self.total:
            return None
        return (self._clock() - self._start) / self.done * (self.total - self.done)

    def line(self, result: ScenarioResult) -> str:
        """Count ``result`` as finished and return its progress line."""
        if self._start is None:
            self.start(self.total)
        self.done += 1
        width = len(str(self.total))
        left = self.remaining_s()
        text = (
            f"[{self.done:>{width}}/{self.total}] {result.verdict.value:<{_VERDICT_WIDTH}} {result.id}  "
            f"{result.name}  ({result.duration_s:.2f} s)"
        )
        if left is not None:
            text += f"  ~{format_duration(left)} left"
        for number, attempt in enumerate(result.earlier_attempts, start=1):
            text += f"\n        attempt {number} (run again): {attempt.verdict.value}: {attempt.reason}"
        if result.verdict != Verdict.PASS:
            text += f"\n        {result.reason}"
        return text
