"""The simulated lab's clock for IEEE 2030.5: UTC seconds that may run faster than the wall clock.

A small module of its own so that the lab config (which states the DER clock's default) imports it
without the reference devices' PKI, TLS and DNS-SD machinery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# Simulated lab: the day starts here (2026-01-01T00:00:00Z, a Thursday) and runs this much faster
# than the wall clock, so a 24-hour price/DR flow takes seconds (1 simulated hour per 2 s).
SIM_DAY_START = 1_767_225_600
SIM_SPEEDUP = 1800.0
# The DER scenarios' lab clock (README AC DER "Clock"): 1 wall second = 2 simulated minutes, so a
# 10-minute DER event takes 5 s.  Lab configs default PIXIT ``sep2_clock_speedup`` to it for `sim` access.
DER_SIM_SPEEDUP = 120.0


@dataclass
class SimClock:
    """The simulated lab's clock: UTC seconds from ``start``, ``speedup`` times the wall clock."""

    start: int = SIM_DAY_START
    speedup: float = SIM_SPEEDUP
    origin: float = 0.0

    def __post_init__(self) -> None:
        self.origin = self.origin or time.monotonic()

    def now(self) -> int:
        return self.start + int((time.monotonic() - self.origin) * self.speedup)
