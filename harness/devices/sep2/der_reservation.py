"""A discharge window the reference EV asks for: FlowReservationRequest / FlowReservationResponse
(SAE J2836/3 use case: the EV offers to give energy back in a window the site grants).

IEEE 2030.5 FlowReservationRequest carries the window, energy and power the device asks for
(``intervalRequested``, ``energyRequested``, ``powerRequested``); the server answers with a
FlowReservationResponse naming the request (``subject``) with the window, energy and power it grants
(``interval``, ``energyAvailable``, ``powerAvailable``).  The reference EV signs a discharge as negative
energy and power (README AC DER "Discharge window", the signed convention of its readings).

When it asks (a tester hook, documented as such like the user opt-out marker): when a DERProgram's
description contains OFFER_MARKER, the simulated driver offers a discharge window for that site: from
OFFER_LEAD_S after the EV sees it, for OFFER_DURATION_S, at OFFER_POWER_W (less if the next drive leaves
less energy to give).  Once a response grants it, the EV discharges at the granted power inside the
granted interval -- and only there -- whenever no DER control dispatches real power (a control's
opModFixedW / opModTargetW comes first).

Sim fault ``der-ev-ignores-window``: the EV starts discharging at the granted power as soon as it reads
the grant, without waiting for the granted window, and goes on past its end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.protocol.sep2 import der_convert

OFFER_MARKER = "[offer discharge window]"
# The window the simulated driver offers (harness choices, server seconds and W: half the lab EV's
# 7.2 kW for half an hour, starting a few poll periods ahead so the grant arrives first).
OFFER_LEAD_S = 480
OFFER_DURATION_S = 900
OFFER_POWER_W = 3600
SECONDS_PER_HOUR = 3600
FAULT_IGNORES_WINDOW = "der-ev-ignores-window"
# mRID serials of the EV's FlowReservationRequests (harness.codec.sep2.values.mrid).
REQUEST_SERIAL = 0x30_1000


@dataclass
class DischargeWindow:
    """The EV's one discharge window: asked (request mRID, when), then granted (interval, power W)."""

    request_mrid: str | None = None
    asked_at: float | None = None
    start: int | None = None
    end: int | None = None
    power_w: float | None = None
    ignores_window: bool = False

    def dispatch_w(self, now: float) -> float | None:
        """The discharge (W, > 0) the window asks for at ``now``, None outside it or before a grant."""
        if self.power_w is None or self.start is None or self.end is None:
            return None
        if self.ignores_window:
            return self.power_w
        return self.power_w if self.start <= now < self.end else None

    def edges(self) -> tuple[int, ...]:
        """The server times at which the window's dispatch changes (none before a grant)."""
        return (self.start, self.end) if self.start is not None and self.end is not None else ()

    def request(self, now: float, exportable_wh: float) -> Any:
        """The FlowReservationRequest offering the window (and remember it as asked)."""
        power = min(float(OFFER_POWER_W), exportable_wh * SECONDS_PER_HOUR / OFFER_DURATION_S)
        watts = int(power)
        start = int(now) + OFFER_LEAD_S
        self.asked_at = now
        resource = r.FlowReservationRequest(
            m_rid=v.mrid(REQUEST_SERIAL),
            description="discharge window offer",
            creation_time=v.sep_time(int(now)),
            duration_requested=OFFER_DURATION_S,
            energy_requested=v.signed_real_energy(-(watts * OFFER_DURATION_S // SECONDS_PER_HOUR)),
            interval_requested=v.interval(start, OFFER_DURATION_S),
            power_requested=v.active_power(-watts),
            request_status=v.request_status(v.RequestStatusCode.REQUESTED, int(now)),
        )
        self.request_mrid = der_convert.mrid_text(resource.m_rid)
        return resource

    def take(self, response: Any) -> bool:
        """A FlowReservationResponse; True if it grants this window (a discharge: negative power)."""
        if self.request_mrid is None or der_convert.mrid_text(response.subject) != self.request_mrid:
            return False
        power = response.power_available
        if response.interval is None or power is None:
            return False
        watts = power.value * 10**power.multiplier.value
        if watts >= 0:
            return False
        self.start = int(response.interval.start.value)
        self.end = self.start + int(response.interval.duration)
        self.power_w = float(-watts)
        return True


async def reserve_discharge(
    window: DischargeWindow,
    descriptions: list[str],
    edev: str | None,
    get: Callable[[str], Awaitable[Any]],
    write: Callable[[str, str, Any], Awaitable[int | None]],
    now: float,
    exportable_wh: float,
) -> None:
    """Offer the window once a program asks for it (OFFER_MARKER), then read the grant each poll."""
    if edev is None:
        return
    if window.request_mrid is None:
        if not any(OFFER_MARKER in text for text in descriptions) or exportable_wh <= 0:
            return
        status = await write("POST", f"{edev}/frq", window.request(now, exportable_wh))
        print(f"DISCHARGE WINDOW requested: {status}", flush=True)
        if status is None:
            window.request_mrid = None
        return
    if window.power_w is not None:
        return
    listing = await get(f"{edev}/frp")
    for response in listing.flow_reservation_response:
        if window.take(response):
            print(
                f"DISCHARGE WINDOW granted: {window.power_w:.0f} W from {window.start} to {window.end}",
                flush=True,
            )
            return
