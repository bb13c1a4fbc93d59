"""DRLC beside DER in the reference EV: the EndDeviceControls of its demand response programs.

A site may send the EV a DRLC event (IEEE 2030.5 DRLC function set: EndDeviceControl with a DutyCycle
normalValue, the share of its normal load the device may draw) over the same period as a DER control.
REFERENCE-DER.md says nothing on how the two combine [unverified]; the reference EV's rule (README AC
DER "DRLC and DER", a harness rule): it follows the DER control as usual and, while a DRLC event is
active, caps its import (charging) at the event's duty cycle of setMaxChargeRateW; export is not load
and is left to the DER control.  It answers each EndDeviceControl with DrResponses as its
responseRequired asks: received (1) when first seen (bit 0), started (2) and completed (3) as it takes
effect and ends (bit 1); a cancelled event gets cancelled (6).

:class:`DrlcSchedule` is the plain state (what was seen, which answers are due, the cap now);
:func:`poll_drlc` is the session's part (GET the program list and each EndDeviceControlList, POST the
due DrResponses).  Sim fault ``der-ev-ignores-drlc``: the EV answers but never caps its import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.values import EventStatusCode, ResponseStatus
from harness.protocol.sep2 import der_convert

FAULT_IGNORES_DRLC = "der-ev-ignores-drlc"
# sep.xsd RespondableResource.responseRequired bits: 0 message received, 1 specific state changes.
RECEIVED_BIT = 0x01
STATE_CHANGES_BIT = 0x02
# EventStatus.currentStatus values that end an event early.
_CANCELLED = (
    int(EventStatusCode.CANCELLED),
    int(EventStatusCode.CANCELLED_WITH_RANDOMIZATION),
    int(EventStatusCode.SUPERSEDED),
)
PERCENT = 100


@dataclass(frozen=True, slots=True)
class DrlcEvent:
    """One EndDeviceControl as the EV keeps it (server times; duty cycle in percent, None if absent)."""

    mrid: str
    start: int
    duration: int
    duty_cycle_percent: int | None
    cancelled: bool
    reply_to: str | None
    response_required: int

    @property
    def end(self) -> int:
        return self.start + self.duration

    def active(self, now: float) -> bool:
        return not self.cancelled and self.start <= now < self.end


def event_from_resource(edc: Any) -> DrlcEvent:
    duty = edc.duty_cycle.normal_value if edc.duty_cycle is not None else None
    status = edc.event_status.current_status if edc.event_status is not None else 0
    return DrlcEvent(
        mrid=der_convert.mrid_text(edc.m_rid),
        start=int(edc.interval.start.value),
        duration=int(edc.interval.duration),
        duty_cycle_percent=int(duty) if duty is not None else None,
        cancelled=int(status) in _CANCELLED,
        reply_to=edc.reply_to,
        response_required=int.from_bytes(edc.response_required or b"\x00", "big"),
    )


@dataclass
class DrlcSchedule:
    """The DRLC events the EV has seen and the DrResponses it has posted."""

    events: dict[str, DrlcEvent] = field(default_factory=dict)
    answered: set[tuple[str, int]] = field(default_factory=set)

    def take(self, events: list[DrlcEvent]) -> None:
        """A poll's EndDeviceControls (an event gone from the list is kept: it may need its answers)."""
        for event in events:
            self.events[event.mrid] = event

    def import_cap_w(self, now: float, max_charge_w: float) -> float | None:
        """The import cap of the DRLC events active at ``now`` (the strictest), None if none."""
        caps = [
            max_charge_w * e.duty_cycle_percent / PERCENT
            for e in self.events.values()
            if e.active(now) and e.duty_cycle_percent is not None
        ]
        return min(caps) if caps else None

    def edges(self) -> tuple[int, ...]:
        """The server times at which an event's cap starts or ends."""
        return tuple(t for e in self.events.values() if not e.cancelled for t in (e.start, e.end))

    def due(self, now: float) -> list[tuple[DrlcEvent, ResponseStatus]]:
        """The DrResponses due at ``now`` that were not posted yet (the caller marks them posted)."""
        out = []
        for event in self.events.values():
            wanted: list[ResponseStatus] = []
            if event.response_required & RECEIVED_BIT:
                wanted.append(ResponseStatus.EVENT_RECEIVED)
            if event.response_required & STATE_CHANGES_BIT:
                if event.cancelled:
                    wanted.append(ResponseStatus.EVENT_CANCELLED)
                else:
                    if now >= event.start:
                        wanted.append(ResponseStatus.EVENT_STARTED)
                    if now >= event.end:
                        wanted.append(ResponseStatus.EVENT_COMPLETED)
            out += [(event, s) for s in wanted if (event.mrid, int(s)) not in self.answered]
        return out


async def poll_drlc(
    links: dict[str, str],
    get: Callable[[str], Awaitable[Any]],
    write: Callable[[str, str, Any], Awaitable[int | None]],
    schedule: DrlcSchedule,
    lfdi: str,
    now: float,
) -> None:
    """GET the DRLC programs' EndDeviceControls into ``schedule`` and POST the DrResponses now due."""
    link = links.get("demand_response_program_list_link")
    if link is None:
        return
    programs = await get(link)
    events = []
    for program in programs.demand_response_program:
        if program.end_device_control_list_link is None:
            continue
        listed = await get(program.end_device_control_list_link.href)
        events += [event_from_resource(edc) for edc in listed.end_device_control]
    schedule.take(events)
    for event, status in schedule.due(now):
        if not event.reply_to:
            continue
        response = r.DrResponse(
            created_date_time=v.sep_time(int(now)),
            end_device_lfdi=v.lfdi_value(lfdi),
            status=int(status),
            subject=sep.MRidtype(value=bytes.fromhex(event.mrid)),
        )
        written = await write("POST", event.reply_to, response)
        if written is not None:
            schedule.answered.add((event.mrid, int(status)))
            print(f"DR RESPONSE {int(status)} for {event.mrid}: {written}", flush=True)
