"""What makes a DC session DIN SPEC 70121 or ISO 15118-2: the profile the session machines speak.

The two protocols run the same DC session (SessionSetup, ServiceDiscovery, payment selection,
authorization, ChargeParameterDiscovery, CableCheck, PreCharge, PowerDelivery, CurrentDemand,
WeldingDetection, SessionStop): DIN SPEC 70121 was derived from a draft of ISO 15118-2.  They differ in
the names of two messages, in the content of a few (the charge service, the schedule, PowerDelivery,
SessionStop, the EVSEID), in a response code name, and in their timers.  The machines
(:mod:`.secc`, :mod:`.evcc`) speak *canonical* message names, DIN SPEC 70121's, and ask their profile
for everything that differs; :class:`DinProfile` is the identity, and
:class:`harness.protocol.iso15118_2.profile.Iso2Profile` the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from harness.protocol.din70121.app_protocol import SupportedProtocol
from harness.protocol.din70121.messages import (
    DIN_NAMESPACE,
    DIN_VERSION_MAJOR,
    DIN_VERSION_MINOR,
    REQUEST_TO_RESPONSE,
    normalise_hex,
)
from harness.protocol.din70121.timing import DinTimings

# DIN SPEC 70121 8.4.3.2: EVSEID is hexBinary; 0x00 when the EVSE has none.
DIN_NO_EVSE_ID = "00"
# DIN SPEC 70121 8.4.3.7 (SAScheduleList): one PMax schedule covering a day.
SCHEDULE_DURATION_S = 86_400
# The SAScheduleTuple the reference SECC offers (and the EV selects).
SCHEDULE_TUPLE_ID = 1
# DIN SPEC 70121 PMaxScheduleEntry: PMax is xs:short; its largest value leaves the DC limits of
# DC_EVSEChargeParameter as the only power limit (what the sample captures show).
PMAX_NO_LIMIT = 32_767


class PowerDeliveryKind(StrEnum):
    """What a PowerDeliveryReq asks for."""

    START = "START"
    STOP = "STOP"
    RENEGOTIATE = "RENEGOTIATE"


@dataclass(frozen=True, slots=True)
class ChargeService:
    """The charge service of a ServiceDiscoveryRes, as the EV reads it."""

    payment_options: tuple[str, ...]
    service_id: int
    energy_transfer_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResponseContext:
    """What a profile may need to complete a response the SECC built."""

    evse_id: str
    max_power_w: float


def as_list(value: Any) -> list[Any]:
    """A repeated element as the codec gives it (a list), or a single one."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class DcProfile:
    """The base: message names and contents as DIN SPEC 70121 has them; a protocol overrides what differs."""

    timings: Any = DinTimings()

    name: ClassVar[str] = "DIN SPEC 70121"
    schema: ClassVar[str] = "din"  # harness.codec.v2g.exi_codec schema name
    protocol: ClassVar[SupportedProtocol] = SupportedProtocol(
        DIN_NAMESPACE, DIN_VERSION_MAJOR, DIN_VERSION_MINOR
    )
    # canonical (DIN SPEC 70121) message or code name -> this protocol's
    renames: ClassVar[Mapping[str, str]] = {}
    # canonical requests beyond DIN SPEC 70121's that this protocol has, with their responses
    extra_requests: ClassVar[Mapping[str, str]] = {}
    no_evse_id: ClassVar[str] = DIN_NO_EVSE_ID
    # SAE J2847/2 bidirectional power transfer (harness.protocol.iso15118_2.bpt) rides on this protocol.
    supports_bpt: ClassVar[bool] = False

    # --- names ---

    def describe(self) -> str:
        p = self.protocol
        return f"{self.name} ({p.namespace} {p.major}.{p.minor})"

    def request_to_response(self) -> dict[str, str]:
        """Canonical request name -> canonical response name, every request this protocol has."""
        return {**REQUEST_TO_RESPONSE, **self.extra_requests}

    def wire(self, canonical: str) -> str:
        """The name of a message (or response code) on the wire."""
        return self.renames.get(canonical, canonical)

    def canonical(self, wire: str) -> str | None:
        """The canonical name of a message received; None if this protocol has no such message."""
        for canonical, renamed in self.renames.items():
            if renamed == wire:
                return canonical
        if wire in self.renames:
            return None  # DIN SPEC 70121's name of a message this protocol calls otherwise
        names = self.request_to_response()
        return wire if wire in names or wire in names.values() else None

    def response_to(self, wire_request: str) -> str:
        """The wire name of the response to a wire request."""
        canonical = self.canonical(wire_request)
        if canonical is None:
            raise KeyError(wire_request)
        return self.wire(self.request_to_response()[canonical])

    # --- the SECC reads requests ---

    def requested_energy_transfer(self, content: Mapping[str, Any]) -> Any:
        return content.get("EVRequestedEnergyTransferType")

    def power_delivery_kind(self, content: Mapping[str, Any]) -> PowerDeliveryKind:
        return PowerDeliveryKind.START if bool(content["ReadyToChargeState"]) else PowerDeliveryKind.STOP

    def pauses(self, session_stop: Mapping[str, Any]) -> bool:
        """Whether a SessionStopReq pauses the session (DIN SPEC 70121 has no pause)."""
        return False

    # --- the SECC writes responses (content built in DIN SPEC 70121's shape) ---

    def evse_id(self, configured: str | None) -> str:
        return normalise_hex(configured if configured is not None else self.no_evse_id)

    def adapt_response(
        self, canonical: str, content: dict[str, Any], context: ResponseContext
    ) -> dict[str, Any]:
        if canonical == "ChargeParameterDiscoveryRes":
            content["SAScheduleList"] = {
                "SAScheduleTuple": [
                    {
                        "SAScheduleTupleID": SCHEDULE_TUPLE_ID,
                        "PMaxSchedule": {
                            "PMaxScheduleID": SCHEDULE_TUPLE_ID,
                            "PMaxScheduleEntry": [
                                {
                                    "RelativeTimeInterval": {"start": 0, "duration": SCHEDULE_DURATION_S},
                                    "PMax": PMAX_NO_LIMIT,
                                }
                            ],
                        },
                    }
                ]
            }
        return content

    # --- the EVCC reads responses ---

    def charge_service(self, content: Mapping[str, Any]) -> ChargeService:
        service = content["ChargeService"]
        return ChargeService(
            payment_options=tuple(as_list(content["PaymentOptions"]["PaymentOption"])),
            service_id=int(service["ServiceTag"]["ServiceID"]),
            energy_transfer_types=(str(service["EnergyTransferType"]),),
        )

    def schedule_tuple_id(self, content: Mapping[str, Any]) -> int | None:
        tuples = as_list(content.get("SAScheduleList", {}).get("SAScheduleTuple"))
        return int(tuples[0]["SAScheduleTupleID"]) if tuples else None

    # --- the EVCC writes requests ---

    def charge_parameter_request(self, energy_transfer: str, dc_parameters: dict[str, Any]) -> dict[str, Any]:
        return {"EVRequestedEnergyTransferType": energy_transfer, "DC_EVChargeParameter": dc_parameters}

    def power_delivery_request(
        self, ready: bool, schedule_tuple_id: int | None, dc_parameters: dict[str, Any]
    ) -> dict[str, Any]:
        return {"ReadyToChargeState": ready, "DC_EVPowerDeliveryParameter": dc_parameters}

    def session_stop_request(self, pause: bool) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class DinProfile(DcProfile):
    """DIN SPEC 70121 itself."""


DIN = DinProfile()
