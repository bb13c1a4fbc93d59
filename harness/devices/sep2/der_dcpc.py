"""The reference DC power converter (DCPC) of the grid-to-EV loop: one device that is both the ISO 15118-2
SECC with SAE J2847/2 V2G on the EV link (interface 4) and an IEEE 2030.5 DER client of the PFE/BMS
(interface 3), in one process and one network namespace (SIM_ROLES["dc-charger"]["grid-bpt"]).

The DER client is the reference EV's (:mod:`harness.devices.sep2.der_client`: discovery, registration,
DERCapability/DERSettings/DERStatus/DERAvailability, the DER event engine on the kernel driver, the
DERControlResponses it sends, the MirrorUsagePoint and its readings) with three things of its own:

* the modes in effect do not drive an on-board inverter but the SECC: the real power they command for
  export (:meth:`~harness.devices.models.inverter.Inverter.commanded_power_w`, which honours opModEnergize,
  opModConnect, opModFixedW / opModTargetW and opModMaxLimW) becomes the V2G discharge the SECC asks of
  the EV (:class:`~harness.protocol.iso15118_2.bpt.GridDischargeDemand`, fed to each session's core
  before its next event by :class:`GridFedSecc`); when no mode commands export, the demand is 0 and the
  EV may charge;
* the meter measures the power on the DC link (the charger model's present voltage times current, + to
  the EV, - from it), integrated on the lab clock, so the mirrored readings show export only while the
  EV really discharges;
* a charger does not plan an EV's next drive nor follow DRLC or discharge windows: it takes part in every
  control (the EV's own limits bound the discharge on the V2G link).

The DER the DCPC declares is the EV battery it dispatches through its converter: DERType 81 (EV) with the
reference inverter's 7.2 kW ratings (the lab site's export limit), so the site's J3072 program authorizes
it as it does the EV's on-board inverter (harness choice, README "Grid-to-EV loop").

Sim fault ``der-dcpc-ignores-control``: the DER client answers its controls (received, started,
completed) but never passes the demand to the SECC; the EV keeps charging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.devices.secc import run_secc
from harness.devices.sep2.common import SimClock, identity
from harness.devices.sep2.der_client import EvDer, serve_ev_der
from harness.devices.sep2.der_meter import MeterCounters
from harness.devices.settings import DeviceSettings
from harness.protocol.core import Core
from harness.protocol.din70121.secc import SeccState
from harness.protocol.iso15118_2.bpt import GridDischargeDemand
from harness.protocol.sep2.der_events import DerSnapshot
from harness.transport.link import Link

ROLE = "dc-charger"
# Sim fault: the DCPC answers its DER controls but never asks the EV to discharge.
FAULT_IGNORES_CONTROL = "der-dcpc-ignores-control"
WH_PER_WS = 1 / 3600
NO_CONTROL = "no DER mode commands export"


@dataclass
class GridDemand:
    """The discharge the grid asks for now (W, a magnitude), shared by the DER client (writer) and the
    SECC sessions (readers); ``version`` counts the changes."""

    watts: float = 0.0
    reason: str = NO_CONTROL
    version: int = 0

    def set(self, watts: float, reason: str) -> bool:
        """Change the demand; True if it changed."""
        watts = max(0.0, watts)
        if watts == self.watts:
            return False
        self.watts, self.reason = watts, reason
        self.version += 1
        return True


@dataclass
class DcMeter:
    """The DCPC's meter of the DC link: the last power sampled (W, + to the EV) held until the next
    sample, integrated on the lab clock (server seconds)."""

    imported_wh: float = 0.0
    exported_wh: float = 0.0
    power_w: float = 0.0
    at: float | None = None

    def advance(self, now: float) -> None:
        if self.at is not None and now > self.at:
            wh = self.power_w * (now - self.at) * WH_PER_WS
            self.imported_wh += max(wh, 0.0)
            self.exported_wh += max(-wh, 0.0)
        self.at = now if self.at is None else max(self.at, now)

    def sample(self, now: float, power_w: float) -> None:
        self.advance(now)
        self.power_w = power_w


@dataclass
class GridFedSecc:
    """An SECC session's core that takes the grid's demand: before each event, a changed
    :class:`GridDemand` is fed to an ISO 15118-2 SECC machine as a GridDischargeDemand (so the next
    CurrentDemandRes carries it);
    after it, the DC link's power is sampled into ``meter`` at ``clock()`` (server time).  A kernel core
    itself; attribute look-ups go to the wrapped core (state, session, paused ...)."""

    core: Core
    demand: GridDemand
    meter: DcMeter
    clock: Callable[[], float]
    fed: int = -1

    def handle(self, event: Any, now: float) -> list[Any]:
        actions: list[Any] = []
        # Only the DIN/ISO 15118-2 SECC machine takes the demand (SAE J2847/2 V2G); a session that
        # negotiated another protocol (ISO 15118-20 behind the app-protocol front) is not fed.
        if self.fed != self.demand.version and hasattr(self.core, "grid_discharge_w"):
            self.fed = self.demand.version
            actions += self.core.handle(GridDischargeDemand(self.demand.watts, self.demand.reason), now)
        actions += self.core.handle(event, now)
        self.meter.sample(self.clock(), self._dc_power_w())
        return actions

    def _dc_power_w(self) -> float:
        charger = getattr(self.core, "charger", None)
        if charger is None or getattr(self.core, "state", None) is SeccState.DONE:
            return 0.0
        return float(charger.present_voltage_v) * float(charger.present_current_a)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def due_timers(self, now: float) -> list[str]:
        return self.core.due_timers(now)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("core", "demand", "meter", "clock", "fed"):
            raise AttributeError(name)
        return getattr(self.core, name)


@dataclass
class DcpcDer(EvDer):
    """The reference EV's DER state, acting through the DCPC's SECC instead of an on-board inverter."""

    demand: GridDemand = field(default_factory=GridDemand)
    meter: DcMeter = field(default_factory=DcMeter)

    def _apply(self, modes: Mapping[str, Any]) -> None:
        now = self.server_now()
        # The inverter model keeps the modes in effect and the declared settings (DERStatus); the power
        # they command for export is what the EV is asked to give.
        self.inverter.apply(modes, now)
        export_w = max(0.0, -self.inverter.commanded_power_w())
        sources = sorted({getattr(mode, "source", "") for mode in modes.values()} - {""})
        reason = f"DER modes of {', '.join(sources)}" if export_w > 0 and sources else NO_CONTROL
        shown = {name: getattr(mode, "value", mode) for name, mode in sorted(modes.items())}
        if FAULT_IGNORES_CONTROL in self.faults:
            self.say(f"DER MODES at {int(now)}: {shown} -> {export_w:.0f} W export (not passed to the SECC)")
            return
        changed = self.demand.set(export_w, reason)
        self.say(
            f"DER MODES at {int(now)}: {shown} -> V2G discharge {self.demand.watts:.0f} W"
            + ("" if changed else " (unchanged)")
        )

    def update_cap(self) -> None:
        """A charger has no next drive, DRLC cap or discharge window of its own to apply."""

    def take(self, snapshot: DerSnapshot, descriptions: Mapping[str, str]) -> None:
        """A poll's snapshot to the engine; the charger takes part in every control."""
        self.feed(snapshot)

    def counters(self, now: float) -> MeterCounters:
        self.meter.advance(now)
        inverter = self.inverter
        return MeterCounters(
            now,
            self.meter.imported_wh,
            self.meter.exported_wh,
            0.0,
            inverter.voltage_v,
            inverter.frequency_hz,
        )

    def secc_core(self, core: Core) -> GridFedSecc:
        """Wrap one SECC session's core so it follows the grid's demand and is metered."""
        return GridFedSecc(core, self.demand, self.meter, self.server_now)


def dcpc_der(settings: DeviceSettings, faults: frozenset[str]) -> DcpcDer:
    """The DCPC's DER state for a run: the dc-charger's identity, the lab's DER clock, its faults."""
    clock = SimClock(speedup=float(settings.sep2_clock_speedup))
    return DcpcDer(identity(ROLE, settings).lfdi, clock, faults, role=ROLE)


async def run_dcpc(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference DCPC (SIM_ROLES["dc-charger"]["grid-bpt"]): the SECC on the link and the DER client
    of the server it finds there, until cancelled."""
    der = dcpc_der(settings, faults)
    tasks = [
        asyncio.create_task(run_secc(link, settings, faults, wrap=der.secc_core)),
        asyncio.create_task(serve_ev_der(der, link, settings)),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
