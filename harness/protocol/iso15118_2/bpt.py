"""SAE J2847/2 DC bidirectional power transfer (BPT) on ISO 15118-2, as data the DC session machines read.

The current SAE J2847/2 edition carries V2H and V2G discharge over ISO 15118-2 (not DIN SPEC 70121) as two
value-added services and negative PhysicalValues.  The SAE text is not public; every fact here is as open
implementations realise J2847/2 (the EVerest ISO 15118-2 SECC, its pull request "Supporting SAE
J2847/2_202309 Bidi"), not confirmed against the SAE text:

* Service IDs 28472 (V2H) and 28473 (V2G), named "SAE J2847/2 V2H" / "SAE J2847/2 V2G", offered in
  ServiceDiscoveryRes.ServiceList and selected in PaymentServiceSelectionReq.SelectedServiceList beside
  the charge service.
* V2H: the SECC answers the first ChargeParameterDiscoveryReq with EVSEProcessing Ongoing and expects the
  next one to carry BulkSOC (the EV's minimum SoC for discharging) and a negative EVMaximumCurrentLimit and
  EVMaximumPowerLimit, else FAILED_WrongEnergyTransferMode; the EV then discharges with negative
  EVTargetCurrent; the SECC stops it (EVSE_Shutdown) at that minimum SoC (the open implementation once
  EVRESSSOC is at or below it; the reference SECC once it is below, a harness choice, so that an EV which
  stops by itself at its minimum is not pre-empted and the EV's own stop can be judged).
* V2G: the SECC asks for discharge with negative EVSEMaximumCurrentLimit / EVSEMaximumPowerLimit (and a
  negative EVSEPresentCurrent once power flows) in CurrentDemandRes; the EV answers with a negative
  EVTargetCurrent.
* Without a BPT service selected, negative EV limits in ChargeParameterDiscoveryReq are
  FAILED_WrongChargeParameter.

Harness choices (no public source found): the services' category OtherCustom (ISO 15118-2's category for
services outside its own), and FAILED_WrongChargeParameter for a negative EVTargetCurrent in
CurrentDemandReq of a session that selected no BPT service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.protocol.din70121.messages import ResponseCode, to_float
from harness.protocol.din70121.profile import as_list


class BptMode(StrEnum):
    """The SAE J2847/2 discharge services."""

    V2H = "V2H"  # the EV serves a home load behind the charger
    V2G = "V2G"  # the EV discharges when the EVSE (the grid) asks for it


@dataclass(frozen=True, slots=True)
class BptService:
    mode: BptMode
    service_id: int
    name: str


SERVICES: dict[BptMode, BptService] = {
    BptMode.V2H: BptService(BptMode.V2H, 28472, "SAE J2847/2 V2H"),
    BptMode.V2G: BptService(BptMode.V2G, 28473, "SAE J2847/2 V2G"),
}
BY_SERVICE_ID: dict[int, BptMode] = {service.service_id: mode for mode, service in SERVICES.items()}
# ISO 15118-2 serviceCategoryType for a service outside ISO 15118-2's own (harness choice, see above).
SERVICE_CATEGORY = "OtherCustom"
# PICS options: the DUT offers (SECC) or uses (EVCC) the service.
PICS_OPTION: dict[BptMode, str] = {BptMode.V2H: "bpt.v2h", BptMode.V2G: "bpt.v2g"}
# V2H: the ChargeParameterDiscoveryRes answered Ongoing before the SECC checks the discharge limits.
V2H_ONGOING_ROUNDS = 1
# The codes (canonical, DIN SPEC 70121 names; ISO 15118-2's profile renames WrongEnergyTransferType).
V2H_WRONG_LIMITS_CODE = ResponseCode.FAILED_WrongEnergyTransferType
NO_BPT_NEGATIVE_CODE = ResponseCode.FAILED_WrongChargeParameter
NOT_OFFERED_CODE = ResponseCode.FAILED_ServiceSelectionInvalid


@dataclass(frozen=True, slots=True)
class GridDischargeDemand:
    """Kernel event for an SECC core: from the next CurrentDemandRes on, a V2G session asks the EV to
    discharge ``watts`` (a magnitude; 0: no discharge, the EV may charge) instead of the static
    ``SeccConfig.grid_discharge_w``.  Fed by whatever speaks for the grid (the DC charger's IEEE 2030.5
    DER client, the grid-to-EV loop); ``reason`` says why, for traces."""

    watts: float
    reason: str = ""

    def __post_init__(self) -> None:
        if self.watts < 0:
            raise ValueError("a discharge demand is a magnitude in W, not negative")


def modes_from_pics(supports: Any) -> tuple[BptMode, ...]:
    """The BPT modes a device's PICS switch on (``supports(key) -> bool``), V2H first."""
    return tuple(mode for mode in BptMode if supports(PICS_OPTION[mode]))


def service_list(offered: Iterable[str]) -> dict[str, Any]:
    """ServiceDiscoveryRes.ServiceList with the offered BPT services."""
    return {
        "Service": [
            {
                "ServiceID": SERVICES[BptMode(mode)].service_id,
                "ServiceName": SERVICES[BptMode(mode)].name,
                "ServiceCategory": SERVICE_CATEGORY,
                "FreeService": True,
            }
            for mode in offered
        ]
    }


def offered_modes(service_discovery_res: Mapping[str, Any]) -> tuple[BptMode, ...]:
    """The BPT services a ServiceDiscoveryRes lists."""
    services = as_list((service_discovery_res.get("ServiceList") or {}).get("Service"))
    ids = [int(service["ServiceID"]) for service in services if "ServiceID" in service]
    return tuple(BY_SERVICE_ID[i] for i in ids if i in BY_SERVICE_ID)


def selected_service_ids(payment_service_selection_req: Mapping[str, Any]) -> list[int]:
    services = as_list(
        (payment_service_selection_req.get("SelectedServiceList") or {}).get("SelectedService")
    )
    return [int(service["ServiceID"]) for service in services]


def selected_service(mode: BptMode) -> dict[str, Any]:
    """The SelectedService entry of a BPT mode."""
    return {"ServiceID": SERVICES[mode].service_id}


def is_negative(value: Mapping[str, Any] | None) -> bool:
    return value is not None and to_float(value) < 0


def v2h_limits_ok(dc_ev_charge_parameter: Mapping[str, Any]) -> bool:
    """A V2H ChargeParameterDiscoveryReq's DC_EVChargeParameter as the SECC expects it: BulkSOC (the
    minimum SoC) and negative EVMaximumCurrentLimit and EVMaximumPowerLimit."""
    p = dc_ev_charge_parameter
    return (
        "BulkSOC" in p
        and is_negative(p.get("EVMaximumCurrentLimit"))
        and is_negative(p.get("EVMaximumPowerLimit"))
    )


def has_negative_limit(dc_ev_charge_parameter: Mapping[str, Any]) -> bool:
    """Any negative EV maximum limit (a discharge request) in DC_EVChargeParameter."""
    p = dc_ev_charge_parameter
    return any(
        is_negative(p.get(name))
        for name in ("EVMaximumCurrentLimit", "EVMaximumPowerLimit", "EVMaximumVoltageLimit")
    )
