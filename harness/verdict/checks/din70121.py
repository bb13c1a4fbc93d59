"""Check builders for DIN SPEC 70121 DC charging (SAE J2847/2).

DIN messages appear on the timeline with protocol ``DIN`` and the supportedAppProtocol handshake with
``AppProtocol``; their decoded dicts are the fields (``V2G_Message.Body.<name>.<field>``).
"""

from __future__ import annotations

from typing import Any, Final

from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE
from harness.verdict.checks.common import Item, Selector, Where, select
from harness.verdict.checks.requirements import requirement

DIN: Final = "DIN"
APP_PROTOCOL: Final = "AppProtocol"
# The SessionID of every DIN message (DIN SPEC 70121 8.4.3.2).
SID: Final = "V2G_Message.Header.SessionID"

DIN_SECC_01 = requirement("DIN-SECC-01")
DIN_SECC_02 = requirement("DIN-SECC-02")
DIN_SECC_03 = requirement("DIN-SECC-03")
DIN_SECC_04 = requirement("DIN-SECC-04")
DIN_SECC_05 = requirement("DIN-SECC-05")
DIN_SECC_06 = requirement("DIN-SECC-06")
DIN_SECC_07 = requirement("DIN-SECC-07")
DIN_SECC_08 = requirement("DIN-SECC-08")
DIN_SECC_09 = requirement("DIN-SECC-09")
DIN_SECC_10 = requirement("DIN-SECC-10")
DIN_SECC_11 = requirement("DIN-SECC-11")
DIN_SECC_12 = requirement("DIN-SECC-12")
DIN_SECC_13 = requirement("DIN-SECC-13")
DIN_SECC_TIME_01 = requirement("DIN-SECC-TIME-01")
DIN_SECC_TIME_02 = requirement("DIN-SECC-TIME-02")
DIN_EVCC_01 = requirement("DIN-EVCC-01")
DIN_EVCC_02 = requirement("DIN-EVCC-02")
DIN_EVCC_03 = requirement("DIN-EVCC-03")
DIN_EVCC_04 = requirement("DIN-EVCC-04")
DIN_EVCC_05 = requirement("DIN-EVCC-05")
DIN_EVCC_06 = requirement("DIN-EVCC-06")
DIN_EVCC_07 = requirement("DIN-EVCC-07")
DIN_EVCC_08 = requirement("DIN-EVCC-08")
DIN_EVCC_09 = requirement("DIN-EVCC-09")
DIN_EVCC_10 = requirement("DIN-EVCC-10")
DIN_EVCC_11 = requirement("DIN-EVCC-11")
DIN_EVCC_12 = requirement("DIN-EVCC-12")
# DIN SPEC 70121 ServiceDiscoveryRes: the ServiceID of the charge service (ChargeService.ServiceTag).
CHARGE_SERVICE_ID: Final = 1
# The prefix of the EVCC's reaction requirements (a scenario's @req tag picks which one a check cites).
DIN_EVCC_PREFIX: Final = "DIN-EVCC-"

# The J2836/2 stages of a DC session and the DIN SPEC 70121 requests of each.
STAGES: dict[str, tuple[str, ...]] = {
    "associate": (
        "supportedAppProtocolReq",
        "SessionSetupReq",
        "ServiceDiscoveryReq",
        "ServicePaymentSelectionReq",
        "ContractAuthenticationReq",
    ),
    "initialize": ("ChargeParameterDiscoveryReq", "CableCheckReq"),
    "precharge": ("PreChargeReq",),
    "energy-transfer": ("PowerDeliveryReq", "CurrentDemandReq"),
    "shutdown": ("WeldingDetectionReq", "SessionStopReq"),
}
# The DIN DC session's requests as a sequence pattern: (name, min, max) with None for unbounded
# (DIN SPEC 70121 8.4: ContractAuthentication, ChargeParameterDiscovery, CableCheck, PreCharge and
# WeldingDetection may repeat; CurrentDemand loops).
SESSION_PATTERN: tuple[tuple[str, int, int | None], ...] = (
    ("supportedAppProtocolReq", 1, 1),
    ("SessionSetupReq", 1, 1),
    ("ServiceDiscoveryReq", 1, 1),
    ("ServicePaymentSelectionReq", 1, 1),
    ("ContractAuthenticationReq", 1, None),
    ("ChargeParameterDiscoveryReq", 1, None),
    ("CableCheckReq", 1, None),
    ("PreChargeReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("CurrentDemandReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("WeldingDetectionReq", 0, None),
    ("SessionStopReq", 1, 1),
)


def message_protocol(name: str, session_protocol: str = DIN) -> str:
    """The timeline's protocol label of message ``name`` in a session of ``session_protocol``."""
    return APP_PROTOCOL if name.startswith("supportedAppProtocol") else session_protocol


def field_path(name: str, field: str) -> str:
    """The dotted field path of ``field`` in message ``name`` as the timeline holds it."""
    if name.startswith("supportedAppProtocol"):
        return f"{name}.{field}"
    return f"V2G_Message.Body.{name}.{field}"


def din(name: str, sender: str | None = None, where: Where | None = None, protocol: str = DIN) -> Selector:
    """DIN SPEC 70121 (or supportedAppProtocol) message ``name`` from ``sender``; ``protocol`` is the
    timeline label of another DC protocol of the same message shape (ISO 15118-2)."""
    return select(message_protocol(name, protocol), name, sender=sender, where=where or None)


def din_fields(name: str, **fields: Any) -> dict[str, Any]:
    """Predicates on fields of message ``name`` by their short names (``ResponseCode=...``)."""
    return {field_path(name, key): value for key, value in fields.items()}


def response_to(request: str) -> str:
    return REQUEST_TO_RESPONSE[request]


def session_sequence(
    names: list[tuple[str, int, int | None]], sender: str, protocol: str = DIN
) -> tuple[Item, ...]:
    """The items of a sequence pattern of ``(name, min, max)`` messages from ``sender``."""
    return tuple(Item(din(name, sender, protocol=protocol), low, high) for name, low, high in names)
