"""ISO 15118-20 DC / DC_BPT tester roles: the tester as EV against an SECC DUT, and as SECC against an EVCC.

Each is the reference -20 core with its physical model (:mod:`harness.devices.dc_sessions`, the reference
devices' builders) plus the -20 fault hooks (:mod:`harness.protocol.iso15118_20.faults`, applied by the
kernel's :class:`~harness.protocol.faults.FaultyCore`), on the same session drivers as the DIN SPEC 70121
tester (:class:`~harness.testers.din70121.DinEvTester`, :class:`~harness.testers.din70121.DinSeccTester`:
SDP, the V2G connection, outcomes); only the setup differs.  The tester speaks -20 DC only in
supportedAppProtocol, and its header TimeStamps count from the real Unix time of the loop's clock zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.devices.dc_sessions import evcc_front, iso20_schemas, protocols_of, time_anchor_s
from harness.devices.evcc import reference_battery, reference_evcc, reference_iso20_evcc
from harness.devices.secc import reference_iso20_secc
from harness.devices.settings import DeviceSettings
from harness.protocol.din70121.events import SendMalformed
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import Fault, FaultyCore, Rewrite
from harness.protocol.iso15118_20 import faults as iso20_faults
from harness.protocol.iso15118_20.evcc import EvccConfig
from harness.protocol.iso15118_20.messages import schema_of
from harness.protocol.iso15118_20.secc import SeccConfig
from harness.protocol.iso15118_20.timing import Iso20Timings
from harness.testers.din70121 import DinEvTester, DinSeccTester, TesterSetup, reset_connection
from harness.transport.v2g import preload_schemas

# The SessionID the tester SECC hands out (8 bytes), fixed so that expectations can name it beforehand.
TESTER_SESSION_ID = "5E55102000C0FFEE"


@dataclass
class Iso20TesterSetup(TesterSetup):
    """What an ISO 15118-20 tester role runs with: the lab (its -20 PIXIT timers), the cores' configs,
    the physical models' parameters (None: the reference devices'), faults; as EV, ``profiles`` (DIN SPEC
    70121 / ISO 15118-2) are offered after -20 DC."""

    settings: DeviceSettings = field(default_factory=DeviceSettings)
    iso20_evcc: EvccConfig = field(default_factory=EvccConfig)
    iso20_secc: SeccConfig = field(default_factory=lambda: SeccConfig(session_id=TESTER_SESSION_ID))
    message_schema: Callable[[str], str] | None = schema_of

    @classmethod
    def for_lab(cls, settings: DeviceSettings) -> Iso20TesterSetup:
        return cls(settings=settings)

    @property
    def iso20_timings(self) -> Iso20Timings:
        return Iso20Timings.from_lab(self.settings.timer)

    @property
    def ev_minimum_soc(self) -> float:
        """The tester EV's minimum SoC (its battery's, the reference pack's unless given)."""
        return float(reference_battery(self.battery).min_soc)

    def preload(self) -> None:
        preload_schemas((*iso20_schemas(), *(profile.schema for profile in self.profiles)))

    @property
    def connect_timeout_s(self) -> float:
        # V2G_EVCC_CommunicationSetup_Timeout of -20 (PIXIT ISO20:): the tester EV's TCP connect budget.
        return self.iso20_timings.evcc_communication_setup_timeout_s

    def ev_machine(self) -> FaultyCore:
        config = replace(self.iso20_evcc, time_anchor_s=time_anchor_s())
        core: Any = reference_iso20_evcc(self.settings, config, self.battery, self.start_soc)
        if self.profiles:
            # The EV offers -20 DC first, then these DIN SPEC 70121 / ISO 15118-2 profiles (SchemaIDs after
            # -20's), and goes on in whichever the SECC chose.
            din_config = replace(self.evcc_config, schema_id=config.schema_id + 1)
            timings = DinTimings.from_lab(self.settings.timer)
            din = reference_evcc(timings, din_config, self.battery, self.start_soc, self.profiles)
            core = evcc_front(core, din, protocols_of(din))
        if self.ev_wrap is not None:
            core = self.ev_wrap(core)
        return FaultyCore(core, list(self.faults))

    def secc_machine(self) -> FaultyCore:
        config = replace(self.iso20_secc, time_anchor_s=time_anchor_s())
        machine = reference_iso20_secc(self.settings, config, self.charger)
        return FaultyCore(machine, list(self.faults))


class Iso20EvTester(DinEvTester):
    """The tester as EV: SDP discovery, then an ISO 15118-20 session against the SECC under test."""


class Iso20SeccTester(DinSeccTester):
    """The tester as SECC: answers SDP, then serves the EVCC under test an ISO 15118-20 session."""


# --- faults by name, as the feature files say them ---------------------------------------------------------


def named_fault(kind: str, message: str, occurrence: int = 1, **options: Any) -> Fault:
    """An ISO 15118-20 tester fault from its feature-file wording."""
    builders: dict[str, Callable[[], Fault]] = {
        "wrong session id": lambda: iso20_faults.wrong_session_id(message, occurrence),
        "response code": lambda: iso20_faults.response_code(message, options["code"], occurrence),
        "delay": lambda: iso20_faults.delay(message, options["seconds"], occurrence),
        "drop": lambda: iso20_faults.drop(message, occurrence),
        "malformed exi": lambda: iso20_faults.malformed(message, occurrence, "exi-header"),
        "truncated v2gtp": lambda: Rewrite(
            iso20_faults.sends(message),
            rewrite=lambda action: SendMalformed(action.message, "truncated-v2gtp"),
            after=occurrence - 1,
            times=1,
        ),
        "out of sequence": lambda: iso20_faults.out_of_sequence(message, options["send"], occurrence),
        "select service": lambda: iso20_faults.select_service(
            options["service"], options.get("parameter_set", 1), occurrence
        ),
        "service detail": lambda: iso20_faults.service_detail_of(options["service"], occurrence),
        "control mode": lambda: iso20_faults.charge_loop_control_mode(options["element"], occurrence),
        "no discharge limits": lambda: iso20_faults.without_discharge_limits(occurrence),
        "discharge without bpt": lambda: iso20_faults.discharge_without_bpt(occurrence=occurrence),
        "evse terminate": lambda: iso20_faults.evse_terminate(message, occurrence),
        "tcp reset": lambda: reset_connection(message, occurrence),
    }
    if kind not in builders:
        raise ValueError(f"unknown ISO 15118-20 tester fault {kind!r}; known: {sorted(builders)}")
    return builders[kind]()
