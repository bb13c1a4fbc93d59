"""The DER server's resource tree: programs, controls, defaults and curves; what DER clients report.

:class:`DerSite` is the DER function set of an IEEE 2030.5 server (README AC DER "Resource tree"):
the tester's PFE/BMS serving a DER client DUT and the reference PFE server share it.  It is mounted on
:class:`~harness.devices.sep2.pfe.Sep2Server` (``Sep2Server(..., der=DerSite(clock))``), which keeps
discovery, registration, time, messaging and metering and hands it the DER paths:

* ``/derp`` DERProgramList (``pollRate`` in server seconds; programs ordered by primacy), ``/derp/{p}``
  DERProgram, ``/derp/{p}/dderc`` DefaultDERControl, ``/derp/{p}/derc[/{n}]`` DERControlList /
  DERControl, ``/derp/{p}/dc[/{n}]`` DERCurveList / DERCurve;
* ``/edev/{i}/der`` DERList with one DER ``/edev/{i}/der/1``, whose DERCapability (``dercap``),
  DERSettings (``derg``), DERStatus (``ders``) and DERAvailability (``dera``) the client PUTs (204; 400
  for a body that does not parse strictly; GET returns the last PUT, 404 before one);
* ``/rsps/{p}/rsp``: DERControlResponses POSTed to a control's replyTo (201 + Location), and
  ``/rsps/msg/rsp``: TextResponses to the TextMessages the site publishes (J3072 refusals, notices).

Beside the function set, :attr:`DerSite.grid` is the simulated lab's grid point at the EV's connection,
served at ``/vgi-lab/grid`` (a lab resource, not an IEEE 2030.5 one: :mod:`harness.devices.sep2.der_grid`).

Program 1 is the J3072 authorization program (primacy 0): its DefaultDERControl says
opModEnergize=false until the EV's DERCapability and DERSettings comply with the site's rules
(:mod:`harness.protocol.sep2.j3072`), then opModEnergize=true and opModConnect=true; a refusal is
published as a TextMessage "J3072 authorization refused: <reason>".

Scenarios change the tree while a client polls (:meth:`DerSite.publish`, :meth:`~DerSite.cancel`,
:meth:`~DerSite.withdraw`, ...).  Every change is also kept as a
:class:`~harness.protocol.sep2.der_events.DerSnapshot` of what is now served, read back through
:mod:`~harness.protocol.sep2.der_convert` from the very resources a client gets
(:meth:`DerSite.published`), so the oracle (:func:`harness.protocol.sep2.der_oracle.predict`) runs on
what was on the wire.  ``responses``, ``reports``, ``readings`` and ``text_responses`` only tell a
tester when to stop waiting: verdicts come from the capture.

Times are server time (UTC seconds of :attr:`DerSite.clock`).  Mutations and reads hold one lock: the
tester changes the tree from the scenario's thread while the server answers on the bench's loop.
"""

from __future__ import annotations

import itertools
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.document import Sep2DecodeError
from harness.codec.sep2.schema import validate
from harness.devices.sep2.common import SimClock
from harness.devices.sep2.der_grid import GRID_MEDIA_TYPE, GRID_PATH, LabGrid, grid_body
from harness.devices.sep2.writes import read_written
from harness.protocol.sep2 import der_convert, j3072
from harness.protocol.sep2.der_events import DerSnapshot
from harness.protocol.sep2.der_model import EVENT_STATUS_COMPLETED, ModeValue
from harness.protocol.sep2.planner import ROW_S, TABLE_HOURS
from harness.transport.http import HttpRequest, HttpResponse

# DERProgramList.pollRate in server seconds: 120 = 1 wall second at DER_SIM_SPEEDUP (README AC DER).
DER_POLL_RATE_S = 120
# The J3072 authorization program (README AC DER "J3072 authorization"): always program 1.
J3072_PROGRAM = 1
J3072_PRIMACY = 0
J3072_DESCRIPTION = "J3072 site authorization"
J3072_UNAUTHORIZED: Mapping[str, ModeValue] = {"opModEnergize": False}
J3072_AUTHORIZED: Mapping[str, ModeValue] = {"opModEnergize": True, "opModConnect": True}
# sep.xsd RespondableResource.responseRequired: a DERControl asks for "received" and the specific state
# changes (bits 0 and 1) unless the scenario says otherwise; a TextMessage for "received" only.
DEFAULT_RESPONSE_REQUIRED = 0x03
MESSAGE_RESPONSE_REQUIRED = 0x01
MESSAGE_REPLY_TO = "/rsps/msg/rsp"
# sep.xsd DERCurveType: 0 frequency-watt, 11 volt-var; DERUnitRefType of their y values: 1 %setMaxW,
# 2 %setMaxVar (0 N/A for the others unless the caller says).
CURVE_FREQ_WATT = 0
CURVE_VOLT_VAR = 11
CURVE_Y_REF = {CURVE_FREQ_WATT: 1, CURVE_VOLT_VAR: 2}
# sep.xsd PriorityType 1: normal (the TextMessages the site publishes).
MESSAGE_PRIORITY_NORMAL = 1
# How long a published TextMessage stays active: the lab's day.
MESSAGE_DURATION_S = TABLE_HOURS * ROW_S
# The DER's resources the client PUTs, by the last path segment (README AC DER).
DER_REPORTS: Mapping[str, type[Any]] = {
    "dercap": r.DERCapability,
    "derg": r.DERSettings,
    "ders": r.DERStatus,
    "dera": r.DERAvailability,
}
DER_INDEX = 1  # the one DER of each EndDevice
# mRID serial ranges of what the site creates (harness.codec.sep2.values.mrid).
_PROGRAM_SERIAL = 600_000
_DEFAULT_SERIAL = 610_000
_CONTROL_SERIAL = 700_000
_CURVE_SERIAL = 800_000
_MESSAGE_SERIAL = 450_000
# sep.xsd OneHourRangeType (randomizeStart / randomizeDuration): "range -3600 to 3600" seconds.
ONE_HOUR_RANGE_S = 3600
# IEEE 2030.5 list query string: start index and limit of the page a client asks for (sep.xsd List.all
# "before any query string parameters are applied", List.results "the number of items in this page";
# the names s and l as open 2030.5 implementations use them [unverified]).  Without them the whole list
# is served (harness rule; the standard's default limit is [unverified]).
LIST_START_PARAM = "s"
LIST_LIMIT_PARAM = "l"
# Bound on each collection log (a runaway client must not exhaust memory).
MAX_LOG = 100_000


@dataclass(frozen=True, slots=True)
class Received:
    """Something a client wrote: when (server time), who (LFDI), where, and the parsed resource."""

    at: int
    lfdi: str
    path: str
    resource: Any


@dataclass(frozen=True, slots=True)
class SiteMessage:
    """A TextMessage the site publishes (``/msg/1/txt/...``, replyTo ``/rsps/msg/rsp``)."""

    serial: int
    text: str
    created: int

    @property
    def mrid(self) -> str:
        return der_convert.mrid_text(v.mrid(self.serial))


@dataclass
class _Program:
    index: int
    primacy: int
    description: str
    default_modes: dict[str, ModeValue]
    set_grad_w: int | None = None
    default_ramp_tms: int | None = None
    default_updated: int = 0
    controls: dict[int, _Control] = field(default_factory=dict)
    curves: dict[int, _Curve] = field(default_factory=dict)
    next_control: int = 1

    @property
    def href(self) -> str:
        return f"/derp/{self.index}"

    @property
    def mrid(self) -> str:
        return der_convert.mrid_text(v.mrid(_PROGRAM_SERIAL + self.index))


@dataclass
class _Control:
    index: int
    program: int
    serial: int
    creation_time: int
    start: int
    duration: int
    base: sep.DercontrolBase
    modes: frozenset[str]
    randomize_start: int
    randomize_duration: int
    response_required: int
    description: str
    status: int | None = None  # a status the server set (cancelled, superseded); None: by the time
    status_time: int = 0

    @property
    def href(self) -> str:
        return f"/derp/{self.program}/derc/{self.index}"

    @property
    def mrid(self) -> str:
        return der_convert.mrid_text(v.mrid(self.serial))

    @property
    def latest_end(self) -> int:
        """The end of the maximum effective scheduled period (sep.xsd EventStatus, status 5)."""
        return self.start + max(0, self.randomize_start) + self.duration + max(0, self.randomize_duration)


@dataclass
class _Curve:
    index: int
    program: int
    serial: int
    resource: sep.Dercurve


class DerSite:
    """The DER function set of a server (see the module docstring)."""

    def __init__(
        self,
        clock: SimClock,
        *,
        site_max_export_w: float = j3072.DEFAULT_SITE_MAX_EXPORT_W,
        poll_rate: int = DER_POLL_RATE_S,
        device_der: bool = True,
    ) -> None:
        self.clock = clock
        # False: no EndDevice DERList (programs only; the client-written DER resources are not hosted)
        self.device_der = device_der
        self._site_max_export_w = float(site_max_export_w)
        self._poll_rate = poll_rate
        self._lock = threading.RLock()
        self._programs: dict[int, _Program] = {}
        self._controls: dict[str, _Control] = {}  # by mRID, withdrawn ones removed
        self._serials = itertools.count(1)
        self._published: list[tuple[float, DerSnapshot]] = []
        self._unreachable_until = 0
        self._decisions: dict[str, j3072.Decision] = {}
        self._declared: dict[str, int] = {}  # LFDI -> EndDevice index of what it declared
        self.messages: list[SiteMessage] = []
        self.responses: list[Received] = []
        self.text_responses: list[Received] = []
        self.puts: list[Received] = []
        self.reports: dict[str, Any] = {}
        self.readings: list[Received] = []
        self._response_ids = itertools.count(1)
        # The simulated lab's grid point at the EV's connection (served at GRID_PATH, not a 2030.5
        # resource: harness.devices.sep2.der_grid).
        self.grid = LabGrid()
        # Serialised bodies by path, valid while the tree's version and the controls' served statuses
        # are those they were made under (serialising dominates a poll's cost).
        self._version = 0
        self._bodies: dict[tuple[str, int, int | None], tuple[tuple[Any, ...], bytes]] = {}
        self.add_program(J3072_PRIMACY, J3072_DESCRIPTION, J3072_UNAUTHORIZED)

    # --- time -----------------------------------------------------------------------------------
    def now(self) -> int:
        """Server time (UTC seconds)."""
        return self.clock.now()

    @property
    def poll_rate(self) -> int:
        """DERProgramList.pollRate, server seconds (a change is served at once)."""
        return self._poll_rate

    @poll_rate.setter
    def poll_rate(self, seconds: int) -> None:
        if not 0 < int(seconds) < 2**32:
            raise ValueError(f"pollRate must be a positive UInt32, not {seconds}")
        with self._lock:
            self._poll_rate = int(seconds)
            self._version += 1

    # --- the scenario's API ------------------------------------------------------------------------
    def add_program(
        self, primacy: int, description: str, default_modes: Mapping[str, ModeValue] | None = None
    ) -> int:
        """A new DERProgram (sep.xsd PrimacyType 0..255, lower wins); its index p (``/derp/{p}``)."""
        if not 0 <= primacy <= 255:
            raise ValueError(f"primacy must be 0..255, not {primacy}")
        with self._lock:
            index = len(self._programs) + 1
            program = _Program(index, primacy, description, {}, default_updated=self.now())
            self._set_modes(program, default_modes or {})
            self._programs[index] = program
            self._snapshot()
        return index

    def set_default(
        self,
        p: int,
        modes: Mapping[str, ModeValue],
        *,
        set_grad_w: int | None = None,
        ramp_tms: int | None = None,
    ) -> None:
        """Replace program ``p``'s DefaultDERControl modes (and its setGradW / rampTms)."""
        with self._lock:
            program = self._program(p)
            self._set_modes(program, modes)
            program.set_grad_w = set_grad_w
            program.default_ramp_tms = ramp_tms
            program.default_updated = self.now()
            self._snapshot()

    def publish(
        self,
        p: int,
        *,
        start: int,
        duration: int,
        modes: Mapping[str, ModeValue],
        randomize_start: int = 0,
        randomize_duration: int = 0,
        response_required: int = DEFAULT_RESPONSE_REQUIRED,
        description: str = "",
        creation_time: int | None = None,
        ramp_tms: int | None = None,
    ) -> str:
        """A new DERControl in program ``p`` (server times); its mRID (32 hex digits)."""
        if not modes:
            raise ValueError("a DERControl needs at least one mode")
        if max(abs(randomize_start), abs(randomize_duration)) > ONE_HOUR_RANGE_S:
            raise ValueError(f"randomizeStart/randomizeDuration lie within +-{ONE_HOUR_RANGE_S} s")
        with self._lock:
            program = self._program(p)
            serial = _CONTROL_SERIAL + next(self._serials)
            control = _Control(
                index=program.next_control,
                program=p,
                serial=serial,
                creation_time=self.now() if creation_time is None else int(creation_time),
                start=int(start),
                duration=int(duration),
                base=der_convert.control_base(modes, ramp_tms),
                modes=frozenset(modes),
                randomize_start=int(randomize_start),
                randomize_duration=int(randomize_duration),
                response_required=int(response_required),
                description=description,
            )
            _check(self._control_resource(control, self.now()))
            program.next_control += 1
            program.controls[control.index] = control
            self._controls[control.mrid] = control
            self._snapshot()
            return control.mrid

    def cancel(self, mrid: str, randomized: bool = False) -> None:
        """Cancel a control: EventStatus 2 (cancelled) or 3 (cancelled with randomization)."""
        status = v.EventStatusCode.CANCELLED_WITH_RANDOMIZATION if randomized else v.EventStatusCode.CANCELLED
        self._set_status(mrid, int(status))

    def supersede(self, mrid: str) -> None:
        """Mark a control superseded by the server (EventStatus 4; deprecated in 2023, sep.xsd)."""
        self._set_status(mrid, int(v.EventStatusCode.SUPERSEDED))

    def withdraw(self, mrid: str) -> None:
        """Remove a control from its list (a client treats it as cancelled, REFERENCE-DER.md)."""
        with self._lock:
            control = self._control(mrid)
            del self._programs[control.program].controls[control.index]
            del self._controls[control.mrid]
            self._snapshot()

    def add_curve(
        self,
        p: int,
        curve_type: int,
        points: Sequence[tuple[int, int]],
        *,
        x_multiplier: int = 0,
        y_multiplier: int = 0,
        y_ref_type: int | None = None,
        description: str = "",
    ) -> str:
        """A DERCurve of program ``p`` from (x, y) points; its href (for opModVoltVar and kin)."""
        with self._lock:
            program = self._program(p)
            index = len(program.curves) + 1
            serial = _CURVE_SERIAL + next(self._serials)
            resource = r.DERCurve(
                href=f"/derp/{p}/dc/{index}",
                m_rid=v.mrid(serial),
                description=description or None,
                creation_time=v.sep_time(self.now()),
                curve_data=[sep.CurveData(xvalue=int(x), yvalue=int(y)) for x, y in points],
                curve_type=sep.DercurveType(value=int(curve_type)),
                x_multiplier=sep.PowerOfTenMultiplierType(value=x_multiplier),
                y_multiplier=sep.PowerOfTenMultiplierType(value=y_multiplier),
                y_ref_type=sep.DerunitRefType(
                    value=CURVE_Y_REF.get(curve_type, 0) if y_ref_type is None else y_ref_type
                ),
            )
            _check(resource)
            program.curves[index] = _Curve(index, p, serial, resource)
            self._version += 1
            return resource.href

    def tell(self, text: str) -> str:
        """Publish a TextMessage to the user (responseRequired 01, replyTo /rsps/msg/rsp); its mRID."""
        with self._lock:
            message = SiteMessage(_MESSAGE_SERIAL + next(self._serials), text, self.now())
            self.messages.append(message)
            return message.mrid

    def unreachable_until(self, server_time: int) -> None:
        """Answer 503 to every request until ``server_time`` (loss of communication); a past time
        ends an outage at once."""
        self._unreachable_until = int(server_time)

    def unreachable(self) -> bool:
        return self.now() < self._unreachable_until

    # --- J3072 ------------------------------------------------------------------------------------
    @property
    def site_max_export_w(self) -> float:
        """The site's export limit (W) the J3072 rules check setMaxDischargeRateW against."""
        return self._site_max_export_w

    @site_max_export_w.setter
    def site_max_export_w(self, watts: float) -> None:
        """A new limit; every EV that declared its inverter is judged again at once."""
        with self._lock:
            self._site_max_export_w = float(watts)
            for lfdi, index in list(self._declared.items()):
                self._authorize(lfdi, index)

    def authorized(self, lfdi: str) -> bool:
        """Whether the EV with ``lfdi`` is authorized to export (J3072, harness rules)."""
        return isinstance(self._decisions.get(lfdi.upper()), j3072.Authorized)

    def decision(self, lfdi: str) -> j3072.Decision | None:
        """The site's J3072 decision on ``lfdi`` (None until DERCapability and DERSettings were PUT)."""
        return self._decisions.get(lfdi.upper())

    def _authorize(self, lfdi: str, index: int) -> None:
        capability = self.reports.get(self._der_path(index, "dercap"))
        settings = self.reports.get(self._der_path(index, "derg"))
        if capability is None or settings is None:
            return
        self._declared[lfdi.upper()] = index
        decision = j3072.authorize(
            j3072.declaration(capability, settings), j3072.SiteLimits(self.site_max_export_w)
        )
        key = lfdi.upper()
        if self._decisions.get(key) == decision:
            return
        self._decisions[key] = decision
        # One EVSE port per site: the J3072 default reflects the latest decision (harness rule).
        modes = J3072_AUTHORIZED if isinstance(decision, j3072.Authorized) else J3072_UNAUTHORIZED
        self.set_default(J3072_PROGRAM, modes)
        if isinstance(decision, j3072.Refused):
            self.tell(decision.message)

    # --- what was published, for the oracle ---------------------------------------------------------
    def published(self) -> list[tuple[float, DerSnapshot]]:
        """What the server published from when (server time): one snapshot per change."""
        with self._lock:
            return list(self._published)

    def snapshot(self) -> DerSnapshot:
        """The DER function set now served, as a client reads it."""
        with self._lock:
            now = self.now()
            programs, controls = [], []
            for program in self._ordered():
                programs.append(
                    der_convert.program_from_resource(
                        self._program_resource(program), self._default_resource(program)
                    )
                )
                controls.extend(
                    der_convert.controls_from_list(self._control_list(program, now), program.mrid)
                )
            return DerSnapshot(tuple(programs), tuple(controls))

    def _snapshot(self) -> None:
        self._version += 1
        self._published.append((float(self.now()), self.snapshot()))

    # --- resources ------------------------------------------------------------------------------------
    def fsa_link(self) -> sep.DerprogramListLink:
        """The FunctionSetAssignments' DERProgramListLink."""
        return sep.DerprogramListLink(href="/derp", all=len(self._programs))

    def der_list_link(self, index: int) -> sep.DerlistLink:
        """The EndDevice's DERListLink."""
        return sep.DerlistLink(href=f"/edev/{index}/der", all=1)

    def _ordered(self) -> list[_Program]:
        return sorted(self._programs.values(), key=lambda p: (p.primacy, p.index))

    def program_list(self) -> sep.DerprogramList:
        items = [self._program_resource(program) for program in self._ordered()]
        return r.DERProgramList(
            href="/derp", all=len(items), results=len(items), derprogram=items, poll_rate=self._poll_rate
        )

    def _program_resource(self, program: _Program) -> sep.Derprogram:
        base = program.href
        return r.DERProgram(
            href=base,
            m_rid=v.mrid(_PROGRAM_SERIAL + program.index),
            description=program.description,
            primacy=sep.PrimacyType(value=program.primacy),
            default_dercontrol_link=sep.DefaultDercontrolLink(href=f"{base}/dderc"),
            dercontrol_list_link=sep.DercontrolListLink(href=f"{base}/derc", all=len(program.controls)),
            dercurve_list_link=sep.DercurveListLink(href=f"{base}/dc", all=len(program.curves)),
        )

    def _default_resource(self, program: _Program) -> sep.DefaultDercontrol:
        return r.DefaultDERControl(
            href=f"{program.href}/dderc",
            m_rid=v.mrid(_DEFAULT_SERIAL + program.index),
            description=f"{program.description} default",
            dercontrol_base=der_convert.control_base(program.default_modes, program.default_ramp_tms),
            set_grad_w=program.set_grad_w,
            updated_time=v.sep_time(program.default_updated),
        )

    def _status(self, control: _Control, now: int) -> tuple[int, int]:
        """(EventStatus.currentStatus, its dateTime) as served at ``now``."""
        if control.status is not None:
            return control.status, control.status_time
        if now >= control.latest_end:
            return EVENT_STATUS_COMPLETED, control.latest_end
        if now >= control.start + min(0, control.randomize_start):
            return int(v.EventStatusCode.ACTIVE), control.start + min(0, control.randomize_start)
        return int(v.EventStatusCode.SCHEDULED), control.creation_time

    def _overlapped(self, control: _Control) -> bool:
        """Another live control shares a mode and overlaps in time (IEEE 2030.5-2018's meaning of
        potentiallySuperseded; 2023 deprecates the flag)."""
        for other in self._controls.values():
            if other is control or other.status is not None or not (other.modes & control.modes):
                continue
            if (
                other.start < control.start + control.duration
                and control.start < other.start + other.duration
            ):
                return True
        return False

    def _control_resource(self, control: _Control, now: int) -> sep.Dercontrol:
        status, since = self._status(control, now)
        return r.DERControl(
            href=control.href,
            m_rid=v.mrid(control.serial),
            description=control.description or None,
            creation_time=v.sep_time(control.creation_time),
            event_status=v.event_status(status, since, potentially_superseded=self._overlapped(control)),
            interval=v.interval(control.start, control.duration),
            randomize_start=sep.OneHourRangeType(value=control.randomize_start)
            if control.randomize_start
            else None,
            randomize_duration=sep.OneHourRangeType(value=control.randomize_duration)
            if control.randomize_duration
            else None,
            dercontrol_base=control.base,
            reply_to=f"/rsps/{control.program}/rsp",
            response_required=bytes([control.response_required]),
        )

    def _control_list(self, program: _Program, now: int) -> sep.DercontrolList:
        items = [self._control_resource(c, now) for c in program.controls.values()]
        return r.DERControlList(
            href=f"{program.href}/derc", all=len(items), results=len(items), dercontrol=items
        )

    def _curve_list(self, program: _Program) -> sep.DercurveList:
        items = [curve.resource for curve in program.curves.values()]
        return r.DERCurveList(href=f"{program.href}/dc", all=len(items), results=len(items), dercurve=items)

    def _der_path(self, index: int, name: str) -> str:
        return f"/edev/{index}/der/{DER_INDEX}/{name}"

    def der_list(self, index: int) -> sep.Derlist:
        return r.DERList(
            href=f"/edev/{index}/der", all=1, results=1, der=[self.der(index)], poll_rate=self._poll_rate
        )

    def der(self, index: int) -> sep.Der:
        return r.DER(
            href=f"/edev/{index}/der/{DER_INDEX}",
            dercapability_link=sep.DercapabilityLink(href=self._der_path(index, "dercap")),
            dersettings_link=sep.DersettingsLink(href=self._der_path(index, "derg")),
            derstatus_link=sep.DerstatusLink(href=self._der_path(index, "ders")),
            deravailability_link=sep.DeravailabilityLink(href=self._der_path(index, "dera")),
        )

    def text_messages(self, first: int) -> list[sep.TextMessage]:
        """The site's TextMessages, numbered from ``first`` in ``/msg/1/txt``."""
        now = self.now()
        return [
            r.TextMessage(
                href=f"/msg/1/txt/{n}",
                m_rid=v.mrid(message.serial),
                creation_time=v.sep_time(message.created),
                event_status=v.event_status(v.EventStatusCode.ACTIVE, now),
                interval=v.interval(message.created, MESSAGE_DURATION_S),
                priority=sep.PriorityType(value=MESSAGE_PRIORITY_NORMAL),
                text_message=message.text,
                reply_to=MESSAGE_REPLY_TO,
                response_required=bytes([MESSAGE_RESPONSE_REQUIRED]),
            )
            for n, message in enumerate(list(self.messages), start=first)
        ]

    def get(self, path: str, index: int) -> Any:
        """The resource at ``path`` for EndDevice ``index``; None: nothing there."""
        with self._lock:
            if path == "/derp":
                return self.program_list()
            parts = path.split("/")[1:]
            if parts[0] == "derp" and len(parts) >= 2 and parts[1].isdigit():
                return self._get_program(int(parts[1]), parts[2:])
            if path == f"/edev/{index}/der":
                return self.der_list(index)
            if path == f"/edev/{index}/der/{DER_INDEX}":
                return self.der(index)
            if len(parts) == 5 and path == self._der_path(index, parts[4]):
                return self.reports.get(path)
            return None

    def body(self, path: str, index: int, page: tuple[int, int | None] = (0, None)) -> bytes | None:
        """The serialised resource at ``path`` (as :meth:`get`; a list cut to ``page``, (start, limit)),
        from the cache while it is current."""
        with self._lock:
            now = self.now()
            key = (self._version, tuple(self._status(c, now) for c in self._controls.values()))
            cached = self._bodies.get((path, *page))
            if cached is not None and cached[0] == key:
                return cached[1]
            resource = self.get(path, index)
            if resource is None:
                return None
            body = r.serialise(_paged(resource, *page))
            self._bodies[(path, *page)] = (key, body)
            return body

    def _get_program(self, p: int, rest: list[str]) -> Any:
        program = self._programs.get(p)
        if program is None:
            return None
        if not rest:
            return self._program_resource(program)
        if rest == ["dderc"]:
            return self._default_resource(program)
        if rest == ["derc"]:
            return self._control_list(program, self.now())
        if rest == ["dc"]:
            return self._curve_list(program)
        if len(rest) == 2 and rest[1].isdigit():
            number = int(rest[1])
            if rest[0] == "derc" and number in program.controls:
                return self._control_resource(program.controls[number], self.now())
            if rest[0] == "dc" and number in program.curves:
                return program.curves[number].resource
        return None

    # --- HTTP -------------------------------------------------------------------------------------------
    def owns(self, request: HttpRequest, path: str, index: int) -> bool:
        """Whether ``path`` is the DER site's to answer (the rest stays with the server)."""
        if path == "/derp" or path.startswith("/derp/") or path in (MESSAGE_REPLY_TO, GRID_PATH):
            return True
        der = f"/edev/{index}/der"
        if self.device_der and (path == der or path.startswith(der + "/")):
            return True
        program = _response_program(path)
        if program is None or program not in self._programs:
            return False
        if program != J3072_PROGRAM:
            return True
        # /rsps/1/rsp is also the DR program's replyTo: take only DERControlResponses.
        try:
            return r.identify(request.body) == r.element_name(r.DERControlResponse)
        except Sep2DecodeError:
            return False

    def handle(self, request: HttpRequest, path: str, index: int, lfdi: str) -> HttpResponse:
        """Answer a request :meth:`owns` accepted, from the registered EndDevice ``index``."""
        if path == GRID_PATH:
            if request.method not in ("GET", "HEAD"):
                return HttpResponse.empty(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", "GET, HEAD"),))
            body = grid_body(self.grid.at(self.now()))
            return HttpResponse(HTTPStatus.OK, (("Content-Type", GRID_MEDIA_TYPE),), body)
        if request.method in ("GET", "HEAD"):
            try:
                page = _page_of(request.query)
            except ValueError:
                return HttpResponse.empty(HTTPStatus.BAD_REQUEST)
            body = self.body(path, index, page)
            if body is None:
                return HttpResponse.empty(HTTPStatus.NOT_FOUND)
            return HttpResponse.sep_xml(body)
        writable = self._writable(path, index)
        if writable is None:
            return HttpResponse.empty(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", "GET, HEAD"),))
        method, resource_class, store = writable
        resource = read_written(request, method, resource_class)
        if isinstance(resource, HttpResponse):
            return resource
        return store(Received(self.now(), lfdi.upper(), path, resource), index)

    def _writable(
        self, path: str, index: int
    ) -> tuple[str, type[Any], Callable[[Received, int], HttpResponse]] | None:
        parts = path.split("/")
        if len(parts) == 6 and path == self._der_path(index, parts[5]) and parts[5] in DER_REPORTS:
            return "PUT", DER_REPORTS[parts[5]], self._store_report
        if path == MESSAGE_REPLY_TO:
            return "POST", r.TextResponse, self._store_text_response
        if _response_program(path) in self._programs:
            return "POST", r.DERControlResponse, self._store_response
        return None

    def _store_report(self, received: Received, index: int) -> HttpResponse:
        with self._lock:
            _append(self.puts, received)
            self.reports[received.path] = received.resource
            self._version += 1
            if received.path.rsplit("/", 1)[-1] in ("dercap", "derg"):
                self._authorize(received.lfdi, index)
        return HttpResponse.empty(HTTPStatus.NO_CONTENT)

    def _store_response(self, received: Received, index: int) -> HttpResponse:
        _append(self.responses, received)
        return self._created(received.path)

    def _store_text_response(self, received: Received, index: int) -> HttpResponse:
        _append(self.text_responses, received)
        return self._created(received.path)

    def _created(self, path: str) -> HttpResponse:
        return HttpResponse.empty(HTTPStatus.CREATED, (("Location", f"{path}/{next(self._response_ids)}"),))

    def record_reading(self, lfdi: str, path: str, resource: Any) -> None:
        """A MirrorUsagePoint or MirrorMeterReading the server stored (``/mup``)."""
        _append(self.readings, Received(self.now(), lfdi.upper(), path, resource))

    # --- helpers -------------------------------------------------------------------------------------
    def _program(self, p: int) -> _Program:
        try:
            return self._programs[p]
        except KeyError:
            raise KeyError(f"no DER program {p}; programs: {sorted(self._programs)}") from None

    def _control(self, mrid: str) -> _Control:
        try:
            return self._controls[mrid.upper()]
        except KeyError:
            raise KeyError(f"no published DERControl {mrid}") from None

    def _set_status(self, mrid: str, status: int) -> None:
        with self._lock:
            control = self._control(mrid)
            if control.status == status:
                return  # already so: its status dateTime stays when it changed
            control.status = status
            control.status_time = self.now()
            self._snapshot()

    @staticmethod
    def _set_modes(program: _Program, modes: Mapping[str, ModeValue]) -> None:
        der_convert.control_base(modes)  # unknown modes or values fail here, not when served
        program.default_modes = dict(modes)


def _response_program(path: str) -> int | None:
    """``p`` of a DER replyTo path ``/rsps/{p}/rsp``."""
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "rsps" and parts[2].isdigit() and parts[3] == "rsp":
        return int(parts[2])
    return None


# The DER lists and the field holding their items.
_LIST_ITEMS: Mapping[type[Any], str] = {
    r.DERProgramList: "derprogram",
    r.DERControlList: "dercontrol",
    r.DERCurveList: "dercurve",
    r.DERList: "der",
}


def _page_of(query: str) -> tuple[int, int | None]:
    """(start, limit) from a list query string; ValueError for a value that is not a whole number."""
    values = urllib.parse.parse_qs(query, keep_blank_values=True)

    def number(name: str) -> int | None:
        given = values.get(name)
        if not given:
            return None
        value = int(given[-1])
        if value < 0:
            raise ValueError(f"{name}={value}")
        return value

    return number(LIST_START_PARAM) or 0, number(LIST_LIMIT_PARAM)


def _paged(resource: Any, start: int, limit: int | None) -> Any:
    """A DER list cut to the page asked for (``all`` stays the whole count); anything else as is."""
    name = _LIST_ITEMS.get(type(resource))
    if name is None or (start == 0 and limit is None):
        return resource
    items = getattr(resource, name)[start : None if limit is None else start + limit]
    return resource.model_copy(update={name: items, "results": len(items)})


def _check(resource: Any) -> None:
    """Refuse to serve a resource the schema rejects (the scenario asked for something impossible)."""
    issues = validate(r.serialise(resource))
    if issues:
        raise ValueError(f"{type(resource).__name__} would not be schema-valid: {issues[0]}")


def _append(log: list[Received], item: Received) -> None:
    if len(log) < MAX_LOG:
        log.append(item)
