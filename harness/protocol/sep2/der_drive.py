"""The EV's next-drive check on a DER discharge request (SAE J2836/3, sans-I/O).

SAE J2836/3 (issue 10: "it confirms the DER request does not conflict with the energy needed for the
next drive"): before it gives energy back, the EV checks that after the discharge it can still reach
its target state of charge by the time it leaves, and that the discharge never takes the battery
below its drive reserve.  The next drive is the J2836/1 charge need of
:mod:`harness.protocol.sep2.planner` (:class:`~harness.protocol.sep2.planner.ChargeNeed`: when the
charge is needed and at what power the EV can charge) plus the battery's size, the target at
departure and the reserve (:class:`NextDrive`).

:func:`plan_discharge` decides, for one control's interval and the export it commands:

* full participation when the energy asked for is available and the event ends before departure;
* partial participation (IEEE 2030.5 Response.status 8, "partial opt-out", every mode still honoured)
  when some energy is available: a power cap that spreads what is available over the interval, and a
  stop at departure when the event runs past it;
* full opt-out (status 4, "user opted out") when nothing can be given (or the EV leaves before the
  event starts).

Harness rules (REFERENCE-DER.md gives no algorithm): the SoC at the event's start is taken as the SoC
now (the simulated EV holds when not commanded); after the event the EV recharges at its maximum
charge power until departure; conversion losses are not counted; "nothing can be given" means less
than MIN_EXPORT_WH.  Pure: no I/O, no clock (times are server seconds passed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from harness.codec.sep2.values import ResponseStatus
from harness.protocol.sep2.planner import SECONDS_PER_HOUR, ChargeNeed

# Harness rule: less exportable energy than this (Wh) counts as none, so the EV opts out fully.
MIN_EXPORT_WH = 1.0


class Participation(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    OPT_OUT = "opt-out"


# What the EV answers (REFERENCE-DER.md section 1, Response.status); full participation needs no answer
# beyond the event's own received / started / completed.
PARTICIPATION_STATUS: dict[Participation, ResponseStatus | None] = {
    Participation.FULL: None,
    Participation.PARTIAL: ResponseStatus.PARTIAL_OPT_OUT,
    Participation.OPT_OUT: ResponseStatus.OPTED_OUT,
}


@dataclass(frozen=True, slots=True)
class NextDrive:
    """What the EV needs for its next drive: ``target_soc`` percent by ``departure`` (server time),
    never below ``reserve_soc`` percent, recharging at up to ``max_charge_w``."""

    capacity_wh: float
    departure: int
    target_soc: float
    reserve_soc: float
    max_charge_w: float

    def __post_init__(self) -> None:
        if not 0 <= self.reserve_soc <= self.target_soc <= 100:
            raise ValueError("need 0 <= reserve_soc <= target_soc <= 100")
        if self.capacity_wh <= 0 or self.max_charge_w < 0:
            raise ValueError("capacity must be positive and the charge power not negative")

    def wh(self, soc: float) -> float:
        return soc / 100.0 * self.capacity_wh

    def charge_need(self, soc: float) -> ChargeNeed:
        """The J2836/1 charge need at ``soc``: energy to reach the target by departure."""
        energy = max(0, round(self.wh(self.target_soc) - self.wh(soc)))
        return ChargeNeed(energy, int(self.max_charge_w), self.departure)

    def recharge_wh(self, start: float) -> float:
        """Energy the EV can take in from ``start`` until departure at its maximum charge power."""
        return self.max_charge_w * max(0.0, self.departure - start) / SECONDS_PER_HOUR

    def exportable_wh(self, soc: float, end: float) -> float:
        """Energy the EV can give until ``end`` and still leave with its target, never below the
        reserve."""
        stored = self.wh(soc)
        above_reserve = stored - self.wh(self.reserve_soc)
        spare_at_departure = stored + self.recharge_wh(end) - self.wh(self.target_soc)
        return max(0.0, min(above_reserve, spare_at_departure))


@dataclass(frozen=True, slots=True)
class DrivePlan:
    """The EV's answer to one discharge request."""

    participation: Participation
    requested_wh: float
    exportable_wh: float
    cap_w: float | None = None  # partial: export at most this (W)
    stop_at: int | None = None  # partial: stop exporting at this server time (departure)
    reason: str = ""

    @property
    def status(self) -> ResponseStatus | None:
        return PARTICIPATION_STATUS[self.participation]


def plan_discharge(
    soc: float, drive: NextDrive, *, start: float, duration: float, export_w: float, now: float
) -> DrivePlan:
    """How far the EV takes part in exporting ``export_w`` from ``start`` for ``duration`` seconds
    (server time), seen at ``now`` with the battery at ``soc`` percent."""
    begin = max(start, now)
    end = start + duration
    if export_w <= 0 or end <= begin:
        return DrivePlan(Participation.FULL, 0.0, 0.0, reason="no export asked")
    requested = export_w * (end - begin) / SECONDS_PER_HOUR
    if begin >= drive.departure:
        return DrivePlan(Participation.OPT_OUT, requested, 0.0, reason="the EV leaves before the event")
    usable_end = min(end, drive.departure)
    exportable = drive.exportable_wh(soc, usable_end)
    if exportable < MIN_EXPORT_WH:
        return DrivePlan(
            Participation.OPT_OUT, requested, exportable, reason="no energy to spare for the next drive"
        )
    runs_past_departure = end > drive.departure
    if exportable >= requested and not runs_past_departure:
        return DrivePlan(Participation.FULL, requested, exportable, reason="enough energy")
    cap = min(export_w, exportable * SECONDS_PER_HOUR / (usable_end - begin))
    return DrivePlan(
        Participation.PARTIAL,
        requested,
        exportable,
        cap_w=cap,
        stop_at=drive.departure if runs_past_departure else None,
        reason="the event runs past departure" if runs_past_departure else "less energy than asked",
    )
