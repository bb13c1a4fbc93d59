"""Check builders for ISO 15118-2 DC charging (external identification).

ISO 15118-2 messages appear on the timeline with protocol ``ISO-2``; their shape is DIN SPEC 70121's
(``V2G_Message.Body.<name>.<field>``), so the DIN builders serve with ``protocol=ISO2``.
"""

from __future__ import annotations

from typing import Any, Final

from harness.protocol.din70121.profile import PowerDeliveryKind
from harness.protocol.iso15118_2.profile import CHARGE_PROGRESS
from harness.protocol.iso15118_2.profile import ISO2 as ISO2_PROFILE
from harness.verdict.checks import din70121 as d
from harness.verdict.checks.common import (
    DUT,
    TESTER,
    Present,
    ResponseTime,
    Sequence,
    has_any,
    one_of,
    sequence,
)
from harness.verdict.checks.din70121 import SESSION_PATTERN as SESSION_PATTERN_DIN
from harness.verdict.checks.requirements import requirement

ISO2: Final = "ISO-2"

ISO2_SECC_01 = requirement("ISO2-SECC-01")
ISO2_SECC_02 = requirement("ISO2-SECC-02")
ISO2_SECC_03 = requirement("ISO2-SECC-03")
ISO2_SECC_04 = requirement("ISO2-SECC-04")
ISO2_SECC_05 = requirement("ISO2-SECC-05")
ISO2_SECC_06 = requirement("ISO2-SECC-06")
ISO2_SECC_07 = requirement("ISO2-SECC-07")
ISO2_SECC_08 = requirement("ISO2-SECC-08")
ISO2_SECC_09 = requirement("ISO2-SECC-09")
ISO2_SECC_10 = requirement("ISO2-SECC-10")
ISO2_SECC_11 = requirement("ISO2-SECC-11")
ISO2_SECC_12 = requirement("ISO2-SECC-12")
ISO2_SECC_13 = requirement("ISO2-SECC-13")
ISO2_SECC_14 = requirement("ISO2-SECC-14")
ISO2_SECC_15 = requirement("ISO2-SECC-15")
ISO2_SECC_TIME_01 = requirement("ISO2-SECC-TIME-01")
ISO2_EVCC_01 = requirement("ISO2-EVCC-01")
ISO2_EVCC_02 = requirement("ISO2-EVCC-02")
ISO2_EVCC_03 = requirement("ISO2-EVCC-03")
ISO2_EVCC_04 = requirement("ISO2-EVCC-04")
ISO2_EVCC_05 = requirement("ISO2-EVCC-05")
ISO2_EVCC_06 = requirement("ISO2-EVCC-06")
ISO2_EVCC_07 = requirement("ISO2-EVCC-07")
ISO2_EVCC_08 = requirement("ISO2-EVCC-08")
ISO2_EVCC_09 = requirement("ISO2-EVCC-09")
ISO2_EVCC_10 = requirement("ISO2-EVCC-10")
ISO2_EVCC_11 = requirement("ISO2-EVCC-11")
ISO2_EVCC_12 = requirement("ISO2-EVCC-12")
ISO2_EVCC_13 = requirement("ISO2-EVCC-13")
# The prefix of the EVCC's reaction requirements (a scenario's @req tag picks which one a check cites).
ISO2_EVCC_PREFIX: Final = "ISO2-EVCC-"

# The ISO 15118-2 requirement that says for ISO 15118-2 what a DIN SPEC 70121 one says: the DIN steps
# judge an ISO 15118-2 session with the same checks and cite these.
DIN_EQUIVALENTS: dict[str, str] = {
    d.DIN_SECC_01: ISO2_SECC_01,
    d.DIN_SECC_02: ISO2_SECC_02,
    d.DIN_SECC_03: ISO2_SECC_03,
    d.DIN_SECC_04: ISO2_SECC_07,
    d.DIN_SECC_05: ISO2_SECC_08,
    d.DIN_SECC_06: ISO2_SECC_09,
    d.DIN_SECC_07: ISO2_SECC_10,
    d.DIN_SECC_08: ISO2_SECC_11,
    d.DIN_SECC_09: ISO2_SECC_04,
    d.DIN_SECC_10: ISO2_SECC_05,
    d.DIN_SECC_11: ISO2_SECC_12,
    d.DIN_SECC_12: ISO2_SECC_13,
    d.DIN_SECC_13: ISO2_SECC_14,
    d.DIN_SECC_TIME_01: ISO2_SECC_TIME_01,
    d.DIN_SECC_TIME_02: ISO2_SECC_TIME_01,
    d.DIN_EVCC_01: ISO2_EVCC_01,
    d.DIN_EVCC_02: ISO2_EVCC_02,
    d.DIN_EVCC_03: ISO2_EVCC_02,
    d.DIN_EVCC_04: ISO2_EVCC_04,
    d.DIN_EVCC_05: ISO2_EVCC_05,
    d.DIN_EVCC_06: ISO2_EVCC_06,
    d.DIN_EVCC_07: ISO2_EVCC_07,
    d.DIN_EVCC_08: ISO2_EVCC_08,
    d.DIN_EVCC_09: ISO2_EVCC_09,
    d.DIN_EVCC_10: ISO2_EVCC_10,
    d.DIN_EVCC_11: ISO2_EVCC_11,
    d.DIN_EVCC_12: ISO2_EVCC_12,
}

# The ISO 15118-2 DC (EIM) session's requests as a sequence pattern: (name, min, max), None unbounded.
# DIN SPEC 70121's (harness.verdict.checks.din70121) in ISO 15118-2's names, with the optional and
# repeatable ServiceDetail after ServiceDiscovery (ISO 15118-2 8.4).
SESSION_PATTERN: tuple[tuple[str, int, int | None], ...] = tuple(
    item
    for name, low, high in SESSION_PATTERN_DIN
    for item in (
        [(ISO2_PROFILE.wire(name), low, high)]
        + ([("ServiceDetailReq", 0, None)] if name == "ServiceDiscoveryReq" else [])
    )
)
# The requests every regular ISO 15118-2 DC session has (ServiceDetail and WeldingDetection may be left
# out).
REQUIRED_REQUESTS: tuple[str, ...] = tuple(
    dict.fromkeys(name for name, low, _ in SESSION_PATTERN if low > 0 and name != "supportedAppProtocolReq")
)


def cite(din_requirement: str, protocol: str) -> str:
    """The requirement a DIN SPEC 70121 check cites when it judges a session of ``protocol`` (a timeline
    label): the DIN one itself, or its ISO 15118-2 equivalent."""
    return DIN_EQUIVALENTS[din_requirement] if protocol == ISO2 else din_requirement


def power_delivery_fields(protocol: str, kind: PowerDeliveryKind) -> dict[str, Any]:
    """Predicates on a PowerDeliveryReq asking for ``kind`` (start or stop) in ``protocol``: DIN SPEC 70121
    says ReadyToChargeState, ISO 15118-2 ChargeProgress."""
    name = "PowerDeliveryReq"
    if protocol == ISO2:
        progress = next(wire for wire, meaning in CHARGE_PROGRESS.items() if meaning is kind)
        return d.din_fields(name, ChargeProgress=progress)
    if kind is PowerDeliveryKind.RENEGOTIATE:
        raise ValueError("DIN SPEC 70121 has no renegotiation")
    return d.din_fields(name, ReadyToChargeState=kind is PowerDeliveryKind.START)


def requested_energy_transfer_field(protocol: str) -> str:
    """The ChargeParameterDiscoveryReq field naming the energy transfer the EV asks for."""
    return "RequestedEnergyTransferMode" if protocol == ISO2 else "EVRequestedEnergyTransferType"


# ServiceDiscoveryRes: the external payment option an EIM session uses, alone or with Contract (ISO 15118-2
# lists every option the SECC offers).
_EXTERNAL_PAYMENT = "ExternalPayment"
_ISO2_PAYMENT_OFFERS = [
    _EXTERNAL_PAYMENT,
    [_EXTERNAL_PAYMENT],
    ["Contract", _EXTERNAL_PAYMENT],
    [_EXTERNAL_PAYMENT, "Contract"],
]


def charge_service_offer(protocol: str, dc_types: list[str]) -> dict[str, Any]:
    """Predicates on a ServiceDiscoveryRes offering the DC charge service (ServiceID 1) with external
    payment. DIN SPEC 70121 (8.4.3.3) names one EnergyTransferType, which must be one of ``dc_types``;
    ISO 15118-2 (8.4.3.3) lists the supported modes, which may mix AC and DC: at least one of them must be
    one of ``dc_types``."""
    name = "ServiceDiscoveryRes"
    if protocol == ISO2:
        return {
            d.field_path(name, "ChargeService.ServiceID"): d.CHARGE_SERVICE_ID,
            d.field_path(name, "ChargeService.SupportedEnergyTransferMode.EnergyTransferMode"): has_any(
                dc_types
            ),
            d.field_path(name, "PaymentOptionList.PaymentOption"): one_of(_ISO2_PAYMENT_OFFERS),
        }
    return {
        d.field_path(name, "ChargeService.ServiceTag.ServiceID"): d.CHARGE_SERVICE_ID,
        d.field_path(name, "ChargeService.EnergyTransferType"): one_of(dc_types),
        d.field_path(name, "PaymentOptions.PaymentOption"): one_of([[_EXTERNAL_PAYMENT], _EXTERNAL_PAYMENT]),
    }


# --- checks of the ISO 15118-2 specific scenarios -----------------------------------------------------------


def authorization_ongoing_rounds(ongoing: int) -> tuple[Present, Sequence]:
    """An EVCC under test told ``ongoing`` times that authorization is still Ongoing: the tester's Ongoing
    answers are on the wire (a precondition), and the EVCC asked again after each, going on to
    ChargeParameterDiscoveryReq only after the Finished answer."""
    name, response = "AuthorizationReq", "AuthorizationRes"
    ongoing_res = d.din(response, TESTER, d.din_fields(response, EVSEProcessing="Ongoing"), protocol=ISO2)
    finished_res = d.din(response, TESTER, d.din_fields(response, EVSEProcessing="Finished"), protocol=ISO2)
    request = d.din(name, DUT, protocol=ISO2)
    pattern = [item for _ in range(ongoing) for item in (request, ongoing_res)]
    return (
        Present(ongoing_res, min=ongoing, precondition=True),
        sequence(
            *pattern,
            request,
            finished_res,
            d.din("ChargeParameterDiscoveryReq", DUT, protocol=ISO2),
            complete=False,
        ),
    )


def answers_ev_error(error: str, within_s: float) -> ResponseTime:
    """The SECC under test answers the CurrentDemandReq in which the EV reported ``error`` (EVReady false)
    within ``within_s`` (its performance time), whatever the code."""
    request = "CurrentDemandReq"
    reported = d.din_fields(request, **{"DC_EVStatus.EVErrorCode": error, "DC_EVStatus.EVReady": False})
    return ResponseTime(
        d.din(request, TESTER, reported, protocol=ISO2),
        d.din("CurrentDemandRes", DUT, protocol=ISO2),
        within_s,
    )
