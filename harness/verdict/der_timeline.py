"""What a decrypted IEEE 2030.5 capture says about DER: the server's clock, the DER function set it
published and when, and what the client under test posted (control responses, settings, readings).

The DER checks (:mod:`harness.verdict.der_judging`) judge a client from the capture alone, so a run
directory can be judged again by `vgi analyze`.  Everything here reads HTTP timeline events
(capture/tls_http.py: ``fields["resource"]`` is the body as a dict, attribute and element names without
namespace) and turns them into the plain values of :mod:`harness.protocol.sep2.der_model`.

Server time.  Times on the wire are server time (UTC seconds); a frame has a capture time.  The
server's Time responses (``Time.currentTime``) anchor one to the other; between anchors server time
runs ``speedup`` times the capture clock (the lab clock may run fast, README AC DER "Clock").  The
anchor nearest a frame converts it.

What was published when.  A DUT learns the DER function set by polling; the capture shows each
DERProgramList, DERProgram, DefaultDERControl and DERControlList the server sent.  The schedule the
oracle needs is the sequence of complete views those responses give, each at the server time of its
frame (a change is dated when the DUT could first have seen it).  Programs are keyed by their href
(``/derp/1``), so a control list read before its program still belongs to it.

Mode values come from the capture only: an element with attributes and text
(``<opModFixedW disabled="false">5000</opModFixedW>``) carries its text under ``"value"``
(capture/tls_http.py ``_as_dict``); a mode whose value the capture lacks is kept as ``None`` and judged
as unknown, never filled in from what the tester meant to publish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from capture.sep2_body import HTTP, UOM_VAR, UOM_WATT, hex_text, items, posted_readings
from capture.timeline import TimelineEvent
from harness.protocol.sep2.der_events import DerSnapshot
from harness.protocol.sep2.der_model import (
    DER_CONTROL_TYPE_BYTES,
    DefaultControl,
    DerControl,
    DerProgram,
    ModeValue,
    ResponseRequired,
    modes_from_bitmap,
)
from harness.verdict.expectations import Parties

T = TypeVar("T")

HTTP_OK = 200
# A 5xx answer: the server could not serve the poll (README AC DER: loss of communication).
HTTP_SERVER_ERROR = 500
# Roots of the DER function set bodies a server sends (IEEE 2030.5 DER function set).
PROGRAM_LIST = "DERProgramList"
PROGRAM = "DERProgram"
DEFAULT_CONTROL = "DefaultDERControl"
CONTROL_LIST = "DERControlList"
CONTROL = "DERControl"
DER_ROOTS = (PROGRAM_LIST, PROGRAM, DEFAULT_CONTROL, CONTROL_LIST, CONTROL)
CONTROL_RESPONSE = "DERControlResponse"
TIME = "Time"
# The program list and the links below a program (README AC DER resource tree).
PROGRAM_LIST_PATH = "/derp"
DEFAULT_SUFFIX = "/dderc"
CONTROLS_SUFFIX = "/derc"
# What does not name a mode in a DERControlBase: the ramp parameter.
RAMP = "rampTms"
_TRUE, _FALSE = "true", "false"


# --- server time --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerClock:
    """Capture time -> server time, from the Time responses' (frame time, currentTime) anchors."""

    anchors: tuple[tuple[float, float], ...]
    speedup: float

    def at(self, t: float) -> float:
        frame_t, server_t = min(self.anchors, key=lambda anchor: abs(anchor[0] - t))
        return server_t + (t - frame_t) * self.speedup


def server_clock(events: Sequence[TimelineEvent], speedup: float) -> ServerClock | None:
    """The clock the Time responses give, or None if the capture has none."""
    anchors = []
    for event in events:
        if _is_response(event, TIME):
            current = _resource(event).get("currentTime")
            if isinstance(current, int):
                anchors.append((event.t, float(current)))
    return ServerClock(tuple(anchors), speedup) if anchors else None


# --- small readers ------------------------------------------------------------------------------------


def _resource(event: TimelineEvent) -> dict[str, Any]:
    resource = event.fields.get("resource")
    return resource if isinstance(resource, dict) else {}


def _is_response(event: TimelineEvent, root: str | None = None) -> bool:
    fields = event.fields
    return (
        event.protocol == HTTP
        and fields.get("status") == HTTP_OK
        and (root is None or fields.get("root") == root)
        and not event.error
    )


def _is_request(event: TimelineEvent, method: str, root: str) -> bool:
    fields = event.fields
    return (
        event.protocol == HTTP
        and fields.get("method") == method
        and fields.get("root") == root
        and not event.error
    )


def hex_bitmap(value: Any, digits: int) -> bytes | None:
    """A hexBinary value as bytes (None if absent or not hex: what a DUT wrote is not trusted)."""
    if value is None:
        return None
    try:
        return bytes.fromhex(hex_text(value, digits))
    except ValueError:
        return None


def request_path(events: Sequence[TimelineEvent], index: int) -> str | None:
    """The path of the request the response ``events[index]`` answers (the last one before it on
    the same connection)."""
    response = events[index]
    for candidate in reversed(events[:index]):
        if (
            candidate.protocol == HTTP
            and "method" in candidate.fields
            and candidate.src == response.dst
            and candidate.dst == response.src
            and candidate.sport == response.dport
            and candidate.dport == response.sport
        ):
            return candidate.fields.get("path")
    return None


def mode_value(raw: Any) -> ModeValue | None:
    """A DERControlBase mode's value from the capture's dict form (None: the capture lost it)."""
    if raw in (_TRUE, _FALSE):
        return raw == _TRUE
    if not isinstance(raw, dict):
        return raw
    if "href" in raw:
        return str(raw["href"])
    if isinstance(raw.get("value"), int) and isinstance(raw.get("multiplier"), int):
        scaled = raw["value"] * 10 ** int(raw["multiplier"])
        return int(scaled) if float(scaled).is_integer() else scaled
    if "value" in raw:
        return mode_value(raw["value"])
    rest = {k: mode_value(v) for k, v in raw.items() if k != "disabled"}
    return tuple(sorted(rest.items())) if rest else None


def control_modes(base: Any) -> dict[str, ModeValue | None]:
    """The modes a DERControlBase dict sets (element name -> value)."""
    if not isinstance(base, dict):
        return {}
    return {name: mode_value(raw) for name, raw in base.items() if name.startswith("opMod")}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def _hex_int(value: Any) -> int | None:
    bitmap = hex_bitmap(value, 2)
    return int.from_bytes(bitmap, "big") if bitmap else None


def _parent(href: str, suffix: str) -> str:
    return href[: -len(suffix)] if href.endswith(suffix) else href.rsplit("/", 1)[0]


# --- what the server published ------------------------------------------------------------------------


@dataclass
class Published:
    """The DER function set as the capture shows the server published it.

    ``inputs`` are (server time, DerSnapshot) pairs, one per change the DUT could see; ``first_seen``
    maps a control's mRID to the frame and server time it first appeared; ``defaults`` the (server
    time, frame, program href, modes) of every DefaultDERControl read; ``poll_rate`` the largest
    DERProgramList pollRate (server seconds).
    """

    inputs: list[tuple[float, DerSnapshot]] = field(default_factory=list)
    first_seen: dict[str, tuple[int, float]] = field(default_factory=dict)
    controls: dict[str, DerControl] = field(default_factory=dict)
    defaults: list[tuple[float, int, str, Mapping[str, Any]]] = field(default_factory=list)
    poll_rate: int | None = None

    @property
    def end(self) -> float:
        return self.inputs[-1][0] if self.inputs else 0.0


@dataclass
class _View:
    programs: dict[str, tuple[str, int]] = field(default_factory=dict)  # href -> (mRID, primacy)
    defaults: dict[str, DefaultControl] = field(default_factory=dict)  # program href -> default
    controls: dict[str, dict[str, DerControl]] = field(default_factory=dict)  # program href -> mRID -> c

    def snapshot(self) -> DerSnapshot:
        hrefs = sorted(set(self.programs) | set(self.defaults) | set(self.controls))
        programs = tuple(
            DerProgram(href, self.programs.get(href, ("", 256))[1], self.defaults.get(href), href)
            for href in hrefs
            if href in self.programs
        )
        controls = tuple(c for href in hrefs for c in self.controls.get(href, {}).values())
        return DerSnapshot(programs, controls)


def control_from_dict(data: dict[str, Any], program: str) -> DerControl:
    """A DERControl (capture dict form) of the program whose href is ``program``."""
    status = data.get("EventStatus") or {}
    interval = data.get("interval") or {}
    base = data.get("DERControlBase") or {}
    required = data.get("responseRequired")
    return DerControl(
        mrid=hex_text(data.get("mRID"), 32),
        program=program,
        creation_time=_int(data.get("creationTime")),
        start=_int(interval.get("start")),
        duration=_int(interval.get("duration")),
        modes=control_modes(base),
        randomize_start=_int(data.get("randomizeStart")),
        randomize_duration=_int(data.get("randomizeDuration")),
        current_status=_int(status.get("currentStatus")),
        # responseRequired is hexBinary: "03" arrives as the int 3, "0A" as text; read it as hex.
        response_required=ResponseRequired((_hex_int(required) or 0) & 0x07),
        reply_to=data.get("replyTo"),
        ramp_tms=base.get(RAMP) if isinstance(base.get(RAMP), int) else None,
        href=data.get("href"),
    )


def published(events: Sequence[TimelineEvent], clock: ServerClock) -> Published:
    """Every change of the DER function set the capture shows the server sending, in frame order."""
    out = Published()
    view = _View()
    last: DerSnapshot | None = None
    for index, event in enumerate(events):
        root = event.fields.get("root")
        if not _is_response(event) or root not in DER_ROOTS:
            continue
        data = _resource(event)
        href = data.get("href") or request_path(events, index) or ""
        at = clock.at(event.t)
        if root == PROGRAM_LIST:
            if isinstance(data.get("pollRate"), int):
                out.poll_rate = max(out.poll_rate or 0, data["pollRate"])
            view.programs = {}
            for program in items(data.get(PROGRAM)):
                view.programs[program.get("href", "")] = (
                    hex_text(program.get("mRID"), 32),
                    _int(program.get("primacy")),
                )
        elif root == PROGRAM:
            view.programs[href] = (hex_text(data.get("mRID"), 32), _int(data.get("primacy")))
        elif root == DEFAULT_CONTROL:
            program = _parent(href, DEFAULT_SUFFIX)
            modes = control_modes(data.get("DERControlBase"))
            base = data.get("DERControlBase") or {}
            ramp = base.get(RAMP) if isinstance(base, dict) and isinstance(base.get(RAMP), int) else None
            view.defaults[program] = DefaultControl(hex_text(data.get("mRID"), 32), modes, ramp, href)
            out.defaults.append((at, event.frame, program, modes))
        elif root == CONTROL_LIST:
            program = _parent(href, CONTROLS_SUFFIX)
            listed = [control_from_dict(c, program) for c in items(data.get(CONTROL))]
            view.controls[program] = {c.mrid: c for c in listed}
        else:  # one DERControl
            program = _parent(_parent(href, ""), CONTROLS_SUFFIX)
            control = control_from_dict(data, program)
            view.controls.setdefault(program, {})[control.mrid] = control
        for controls in view.controls.values():
            for control in controls.values():
                out.first_seen.setdefault(control.mrid, (event.frame, at))
                out.controls.setdefault(control.mrid, control)
        snapshot = view.snapshot()
        if snapshot != last:
            out.inputs.append((at, snapshot))
            last = snapshot
    return out


# --- what the client posted ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostedControlResponse:
    """A DERControlResponse the DUT posted: its frame, server time, subject, status, claimed time."""

    frame: int
    at: float
    subject: str
    status: int
    created: int | None
    modes: frozenset[str]


def control_responses(
    events: Sequence[TimelineEvent], clock: ServerClock, parties: Parties
) -> list[PostedControlResponse]:
    out = []
    for event in events:
        if not _is_request(event, "POST", CONTROL_RESPONSE) or not parties.matches(
            "dut", event.src, event.sport
        ):
            continue
        data = _resource(event)
        bitmap = hex_bitmap(data.get("modesResponded"), 2 * DER_CONTROL_TYPE_BYTES)
        modes = modes_from_bitmap(bitmap) if bitmap is not None else frozenset()
        created = data.get("createdDateTime")
        out.append(
            PostedControlResponse(
                event.frame,
                clock.at(event.t),
                hex_text(data.get("subject"), 32),
                _int(data.get("status"), -1),
                created if isinstance(created, int) else None,
                modes,
            )
        )
    return out


def last_put(
    events: Sequence[TimelineEvent], root: str, parties: Parties
) -> tuple[TimelineEvent, dict[str, Any]] | None:
    """The DUT's last PUT of a ``root`` body (DERCapability, DERSettings, ...) and its dict."""
    found = None
    for event in events:
        if _is_request(event, "PUT", root) and parties.matches("dut", event.src, event.sport):
            found = (event, _resource(event))
    return found


def power_value(raw: Any) -> float | None:
    """An ActivePower-like dict ({multiplier, value}) in W."""
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), int):
        return None
    return raw["value"] * 10 ** _int(raw.get("multiplier"))


# A period as a Reading's timePeriod states it: (start, duration), seconds (sep.xsd DateTimeInterval).
Period = tuple[int, int]
# Without a TimePeriod to match, a reading of another quantity belongs to the same period when posted
# within this many server seconds of it (README AC DER "Readings": the EV posts a period's readings one
# after the other).
PAIR_WINDOW_S = 10.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One signed real-power reading the DUT posted (W; negative = export), at a server time, with the
    timePeriod it states it measured (None when it has none)."""

    frame: int
    at: float
    watts: float
    period: Period | None = None


@dataclass(frozen=True, slots=True)
class ReactiveReading:
    """One signed reactive-power reading the DUT posted (var; negative = injected), as :class:`Reading`."""

    frame: int
    at: float
    var: float
    period: Period | None = None


class _Posted(Protocol):
    @property
    def at(self) -> float: ...
    @property
    def period(self) -> Period | None: ...


def partner_reading(reading: _Posted, others: Sequence[T]) -> T | None:
    """The reading among ``others`` (another quantity) that measured the same period as ``reading``.

    When ``reading`` states a timePeriod and any of ``others`` does, only one stating the same period
    pairs (the nearest posted of those): under load the POSTs of one period can be far apart in server
    time, and a near POST can belong to the next period.  Otherwise the nearest posted within
    :data:`PAIR_WINDOW_S`."""
    if reading.period is not None and any(other.period is not None for other in others):
        candidates = [other for other in others if other.period == reading.period]
    else:
        candidates = [other for other in others if abs(other.at - reading.at) <= PAIR_WINDOW_S]
    return min(candidates, key=lambda other: abs(other.at - reading.at), default=None)


def power_readings(events: Sequence[TimelineEvent], clock: ServerClock, parties: Parties) -> list[Reading]:
    """The DUT's MirrorMeterReadings of real power (ReadingType uom W), each at its frame's server time.

    A MirrorMeterReading counts when its own ReadingType, or the one its MirrorUsagePoint declared for
    the same mRID, has uom 38 (W); the reading's value is scaled by that ReadingType's multiplier."""
    return [Reading(*found) for found in meter_readings(events, clock, parties, UOM_WATT)]


def reactive_readings(
    events: Sequence[TimelineEvent], clock: ServerClock, parties: Parties
) -> list[ReactiveReading]:
    """The DUT's MirrorMeterReadings of reactive power (ReadingType uom 63 var), as :func:`power_readings`."""
    return [ReactiveReading(*found) for found in meter_readings(events, clock, parties, UOM_VAR)]


def meter_readings(
    events: Sequence[TimelineEvent], clock: ServerClock, parties: Parties, uom: int
) -> list[tuple[int, float, float, Period | None]]:
    """(frame, server time of the frame, value, stated timePeriod or None) of each Reading of ``uom``
    the DUT posted (:func:`capture.sep2_body.posted_readings`)."""
    sent = (event for event in events if parties.matches("dut", event.src, event.sport))
    return [
        (found.event.frame, clock.at(found.event.t), found.value, _period(found.reading.get("timePeriod")))
        for found in posted_readings(sent, uom)
    ]


def _period(raw: Any) -> Period | None:
    if not isinstance(raw, dict):
        return None
    start, duration = raw.get("start"), raw.get("duration")
    if not isinstance(start, int) or not isinstance(duration, int):
        return None
    return (start, duration)


# --- DRLC beside DER ------------------------------------------------------------------------------------

DRLC_CONTROL_LIST = "EndDeviceControlList"
# EventStatus.currentStatus of a cancelled (2, 3) or superseded (4) event (sep.xsd EventStatus).
_DRLC_ENDED_EARLY = (2, 3, 4)


@dataclass(frozen=True, slots=True)
class DrlcWindow:
    """A DRLC EndDeviceControl the server sent: its mRID, interval (server times), duty cycle percent
    (None if it has none), whether the server cancelled it, and the frame that first showed it."""

    mrid: str
    start: int
    end: int
    duty_cycle_percent: int | None
    cancelled: bool
    frame: int


def drlc_windows(events: Sequence[TimelineEvent]) -> list[DrlcWindow]:
    """The EndDeviceControls the capture shows the server sending: interval and duty cycle as first
    seen, ``cancelled`` if any later list shows it cancelled or superseded."""
    seen: dict[str, DrlcWindow] = {}
    for event in events:
        if not _is_response(event, DRLC_CONTROL_LIST):
            continue
        for edc in items(_resource(event).get("EndDeviceControl")):
            if not isinstance(edc, dict):
                continue
            mrid = hex_text(edc.get("mRID"), 32)
            interval = edc.get("interval") or {}
            cancelled = _int((edc.get("EventStatus") or {}).get("currentStatus")) in _DRLC_ENDED_EARLY
            duty = (edc.get("DutyCycle") or {}).get("normalValue")
            start = _int(interval.get("start"))
            known = seen.get(mrid)
            if known is None:
                seen[mrid] = DrlcWindow(
                    mrid,
                    start,
                    start + _int(interval.get("duration")),
                    duty if isinstance(duty, int) else None,
                    cancelled,
                    event.frame,
                )
            elif cancelled and not known.cancelled:
                seen[mrid] = replace(known, cancelled=True)
    return list(seen.values())


# --- a discharge window (FlowReservation) ---------------------------------------------------------------

RESERVATION_REQUEST = "FlowReservationRequest"
RESERVATION_RESPONSES = "FlowReservationResponseList"


@dataclass(frozen=True, slots=True)
class GrantedWindow:
    """A FlowReservationResponse granting a discharge the DUT asked for: interval (server times), the
    discharge power granted (W, > 0), and the frames of the request and of the first grant."""

    start: int
    end: int
    power_w: float
    request_frame: int
    frame: int


def granted_windows(events: Sequence[TimelineEvent], parties: Parties) -> list[GrantedWindow]:
    """Each discharge the DUT asked for (a FlowReservationRequest POST) that a FlowReservationResponse
    the server sent names as its subject with a negative powerAvailable (a discharge granted)."""
    requests: dict[str, int] = {}
    out: dict[str, GrantedWindow] = {}
    for event in events:
        if _is_request(event, "POST", RESERVATION_REQUEST) and parties.matches("dut", event.src, event.sport):
            requests.setdefault(hex_text(_resource(event).get("mRID"), 32), event.frame)
        elif _is_response(event, RESERVATION_RESPONSES):
            for response in items(_resource(event).get("FlowReservationResponse")):
                if not isinstance(response, dict):
                    continue
                subject = hex_text(response.get("subject"), 32)
                power = power_value(response.get("powerAvailable"))
                interval = response.get("interval") or {}
                if subject not in requests or subject in out or power is None or power >= 0:
                    continue
                start = _int(interval.get("start"))
                end = start + _int(interval.get("duration"))
                out[subject] = GrantedWindow(start, end, -power, requests[subject], event.frame)
    return list(out.values())


def failed_polls(events: Sequence[TimelineEvent], clock: ServerClock) -> list[tuple[float, bool]]:
    """(server time, failed) of every answer to a poll of Time: 5xx is a failed poll."""
    out = []
    for index, event in enumerate(events):
        status = event.fields.get("status")
        if event.protocol != HTTP or not isinstance(status, int):
            continue
        if status == HTTP_OK and event.fields.get("root") == TIME:
            out.append((clock.at(event.t), False))
        elif status >= HTTP_SERVER_ERROR and request_path(events, index) == "/tm":
            out.append((clock.at(event.t), True))
    return out
