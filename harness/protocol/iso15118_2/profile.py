"""ISO 15118-2:2014 DC with external identification, as a profile of the DC session machines.

What differs from DIN SPEC 70121 (the machines' canonical names), message by message, as the
ISO 15118-2 schema (urn:iso:15118:2:2013:MsgDef) and the sample captures show it:

* PaymentServiceSelection and Authorization are DIN's ServicePaymentSelection and
  ContractAuthentication; ServiceDetail exists (8.4.3.4); FAILED_WrongEnergyTransferMode is DIN's
  FAILED_WrongEnergyTransferType.
* ServiceDiscoveryRes lists the payment options in PaymentOptionList and the charge service's energy
  transfer modes in SupportedEnergyTransferMode; the EVSEID is a string ("ZZ00000" when the EVSE has none).
* The SAScheduleList's PMax is a PhysicalValue (DIN: a bare short); PowerDeliveryReq names the schedule
  tuple and its ChargeProgress (Start, Stop, Renegotiate); CurrentDemandRes repeats the EVSEID and
  the schedule tuple.
* SessionStopReq says whether the session ends (Terminate) or pauses (Pause).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.protocol.din70121.app_protocol import SupportedProtocol
from harness.protocol.din70121.messages import physical
from harness.protocol.din70121.profile import (
    SCHEDULE_DURATION_S,
    SCHEDULE_TUPLE_ID,
    ChargeService,
    DcProfile,
    PowerDeliveryKind,
    ResponseContext,
    as_list,
)
from harness.protocol.iso15118_2.timing import Iso2Timings

ISO2_NAMESPACE = "urn:iso:15118:2:2013:MsgDef"
ISO2_VERSION_MAJOR = 2
ISO2_VERSION_MINOR = 0
# ISO 15118-2 SessionSetupRes: the EVSEID of an EVSE that has none (what the sample captures carry).
ISO2_NO_EVSE_ID = "ZZ00000"
# ISO 15118-2 chargeProgressType and chargingSessionType.
CHARGE_PROGRESS: dict[str, PowerDeliveryKind] = {
    "Start": PowerDeliveryKind.START,
    "Stop": PowerDeliveryKind.STOP,
    "Renegotiate": PowerDeliveryKind.RENEGOTIATE,
}
PAUSE = "Pause"
TERMINATE = "Terminate"


@dataclass(frozen=True)
class Iso2Profile(DcProfile):
    timings: Any = Iso2Timings()

    name: ClassVar[str] = "ISO 15118-2"
    schema: ClassVar[str] = "iso2"
    protocol: ClassVar[SupportedProtocol] = SupportedProtocol(
        ISO2_NAMESPACE, ISO2_VERSION_MAJOR, ISO2_VERSION_MINOR
    )
    renames: ClassVar[Mapping[str, str]] = {
        "ServicePaymentSelectionReq": "PaymentServiceSelectionReq",
        "ServicePaymentSelectionRes": "PaymentServiceSelectionRes",
        "ContractAuthenticationReq": "AuthorizationReq",
        "ContractAuthenticationRes": "AuthorizationRes",
        "FAILED_WrongEnergyTransferType": "FAILED_WrongEnergyTransferMode",
    }
    extra_requests: ClassVar[Mapping[str, str]] = {"ServiceDetailReq": "ServiceDetailRes"}
    no_evse_id: ClassVar[str] = ISO2_NO_EVSE_ID
    # SAE J2847/2 V2H/V2G value-added services (harness.protocol.iso15118_2.bpt).
    supports_bpt: ClassVar[bool] = True

    # --- the SECC reads requests ---

    def requested_energy_transfer(self, content: Mapping[str, Any]) -> Any:
        return content.get("RequestedEnergyTransferMode")

    def power_delivery_kind(self, content: Mapping[str, Any]) -> PowerDeliveryKind:
        progress = content["ChargeProgress"]
        if progress not in CHARGE_PROGRESS:
            raise ValueError(f"ChargeProgress {progress!r}")
        return CHARGE_PROGRESS[progress]

    def pauses(self, session_stop: Mapping[str, Any]) -> bool:
        return session_stop.get("ChargingSession") == PAUSE

    # --- the SECC writes responses ---

    def evse_id(self, configured: str | None) -> str:
        return configured if configured is not None else self.no_evse_id

    def adapt_response(
        self, canonical: str, content: dict[str, Any], context: ResponseContext
    ) -> dict[str, Any]:
        if canonical == "ServiceDiscoveryRes":
            service = content["ChargeService"]
            return {
                "ResponseCode": content["ResponseCode"],
                "PaymentOptionList": {"PaymentOption": content["PaymentOptions"]["PaymentOption"]},
                "ChargeService": {
                    "ServiceID": service["ServiceTag"]["ServiceID"],
                    "ServiceCategory": service["ServiceTag"]["ServiceCategory"],
                    "FreeService": service["FreeService"],
                    "SupportedEnergyTransferMode": {"EnergyTransferMode": [service["EnergyTransferType"]]},
                },
            }
        if canonical == "ChargeParameterDiscoveryRes":
            content["SAScheduleList"] = {
                "SAScheduleTuple": [
                    {
                        "SAScheduleTupleID": SCHEDULE_TUPLE_ID,
                        "PMaxSchedule": {
                            "PMaxScheduleEntry": [
                                {
                                    "RelativeTimeInterval": {"start": 0, "duration": SCHEDULE_DURATION_S},
                                    "PMax": physical(context.max_power_w, "W"),
                                }
                            ]
                        },
                    }
                ]
            }
        elif canonical == "CurrentDemandRes":
            content["EVSEID"] = context.evse_id
            content["SAScheduleTupleID"] = SCHEDULE_TUPLE_ID
        return content

    # --- the EVCC reads responses ---

    def charge_service(self, content: Mapping[str, Any]) -> ChargeService:
        service = content["ChargeService"]
        return ChargeService(
            payment_options=tuple(as_list(content["PaymentOptionList"]["PaymentOption"])),
            service_id=int(service["ServiceID"]),
            energy_transfer_types=tuple(
                str(mode) for mode in as_list(service["SupportedEnergyTransferMode"]["EnergyTransferMode"])
            ),
        )

    # --- the EVCC writes requests ---

    def charge_parameter_request(self, energy_transfer: str, dc_parameters: dict[str, Any]) -> dict[str, Any]:
        return {"RequestedEnergyTransferMode": energy_transfer, "DC_EVChargeParameter": dc_parameters}

    def power_delivery_request(
        self, ready: bool, schedule_tuple_id: int | None, dc_parameters: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "ChargeProgress": "Start" if ready else "Stop",
            "SAScheduleTupleID": schedule_tuple_id if schedule_tuple_id is not None else SCHEDULE_TUPLE_ID,
            "DC_EVPowerDeliveryParameter": dc_parameters,
        }

    def session_stop_request(self, pause: bool) -> dict[str, Any]:
        return {"ChargingSession": PAUSE if pause else TERMINATE}


ISO2 = Iso2Profile()
