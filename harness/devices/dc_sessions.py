"""The reference devices' ISO 15118-20 DC sessions beside DIN SPEC 70121 and ISO 15118-2 on one V2G port.

When the PICS list ``iso15118-20``, the reference SECC offers -20 DC (and DC_BPT with PICS option
``iso20.dc_bpt``) in supportedAppProtocol together with the DIN SPEC 70121 / ISO 15118-2 protocols it has,
and the EVCC's best offer picks the core that serves the connection (:class:`~harness.protocol.app_front.
SeccFront`); the reference EV offers -20 DC first (EVs that speak it prefer it), then ISO 15118-2 and DIN
SPEC 70121 (:class:`~harness.protocol.app_front.EvccFront`), and uses DC_BPT (discharging, Scheduled
control) when its PICS say ``iso20.dc_bpt`` and the SECC offers it.  Without ``iso15118-20`` the DIN/ISO-2
core runs alone, as before.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.devices.settings import DeviceSettings
from harness.protocol.app_front import Candidate, EvccFront, SeccFront
from harness.protocol.din70121.app_protocol import SupportedProtocol
from harness.protocol.iso15118_20 import evcc as iso20_evcc
from harness.protocol.iso15118_20 import secc as iso20_secc
from harness.protocol.iso15118_20.messages import ServiceID
from harness.protocol.iso15118_20.protocol import DC_PROTOCOL
from harness.protocol.iso15118_20.timing import Iso20Timings

# PICS protocol name of ISO 15118-20 (the lab's protocols list).
ISO15118_20 = "iso15118-20"
# PICS option: DC_BPT (ServiceID 6) besides DC (2): the SECC offers it, the EV selects it when offered.
PICS_DC_BPT = "iso20.dc_bpt"
# The EXI schemas of a -20 DC session (CommonMessages 0x8002, DC 0x8004), for preloading the grammars.
ISO20_SCHEMAS = ("iso20-common", "iso20-dc")


def iso20_schemas() -> tuple[str, ...]:
    """The EXI schemas a -20 DC session uses (for a tester's preload)."""
    return ISO20_SCHEMAS


def speaks_iso20(settings: DeviceSettings) -> bool:
    return settings.supports(ISO15118_20)


def iso20_services(settings: DeviceSettings) -> tuple[int, ...]:
    """The -20 energy transfer services of the PICS, the EV's preference first (DC_BPT when it has it)."""
    bpt = (ServiceID.DC_BPT,) if settings.supports(PICS_DC_BPT) else ()
    return (*bpt, ServiceID.DC)


def time_anchor_s() -> float:
    """The Unix time at the running loop's clock zero: the -20 cores' header TimeStamp origin on a live
    connection (the asyncio driver's clock is the loop's monotonic time)."""
    return time.time() - asyncio.get_running_loop().time()


def iso20_secc_machine(
    settings: DeviceSettings,
    charger: ChargerParameters,
    paused_session: str | None = None,
    time_anchor: float | None = None,
    config: iso20_secc.SeccConfig | None = None,
) -> iso20_secc.SeccMachine:
    """The reference -20 SECC machine with its charger model: the PICS' services, the lab's -20 timers;
    it resumes ``paused_session``; its header TimeStamps count from ``time_anchor`` (None: the config's)."""
    base = config or iso20_secc.SeccConfig(services=tuple(sorted(iso20_services(settings))))
    base = replace(base, previous_session_id=paused_session or base.previous_session_id)
    if time_anchor is not None:
        base = replace(base, time_anchor_s=time_anchor)
    return iso20_secc.SeccMachine(DcCharger(charger), base, Iso20Timings.from_lab(settings.timer))


def iso20_evcc_machine(
    settings: DeviceSettings,
    battery: BatteryParameters,
    soc: float,
    schema_id: int = 1,
    time_anchor: float | None = None,
    config: iso20_evcc.EvccConfig | None = None,
) -> iso20_evcc.EvccMachine:
    """The reference -20 EVCC machine with its battery: the PICS' services, the lab's -20 timers; it
    offers -20 DC with ``schema_id``; header TimeStamps count from ``time_anchor`` (None: the config's)."""
    base = config or iso20_evcc.EvccConfig(services=iso20_services(settings))
    base = replace(base, schema_id=schema_id)
    if time_anchor is not None:
        base = replace(base, time_anchor_s=time_anchor)
    return iso20_evcc.EvccMachine(Battery(battery, soc=soc), base, Iso20Timings.from_lab(settings.timer))


def protocols_of(core: Any) -> tuple[SupportedProtocol, ...]:
    """The supportedAppProtocol entries of a DIN SPEC 70121 / ISO 15118-2 machine (its profiles)."""
    return tuple(profile.protocol for profile in core.profiles)


def secc_front(din_core: Any | None, iso20_core: Any, din_protocols: tuple[SupportedProtocol, ...]) -> Any:
    """One SECC connection: the DIN/ISO-2 core (first, as the protocol the device spoke before -20) and
    the -20 core; the EVCC's offer picks."""
    candidates = [Candidate((DC_PROTOCOL,), iso20_core)]
    if din_core is not None:
        candidates.insert(0, Candidate(din_protocols, din_core))
    return SeccFront(candidates) if len(candidates) > 1 else iso20_core


def evcc_front(iso20_core: Any, din_core: Any | None, din_protocols: tuple[SupportedProtocol, ...]) -> Any:
    """One EVCC connection: -20 DC offered first, then the DIN/ISO-2 core's protocols."""
    candidates = [Candidate((DC_PROTOCOL,), iso20_core)]
    if din_core is not None:
        candidates.append(Candidate(din_protocols, din_core))
    return EvccFront(candidates) if len(candidates) > 1 else iso20_core
