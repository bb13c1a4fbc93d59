"""ISO 15118-20 common and DC messages as the EXI codec represents them, with typed helpers.

A -20 message is a plain dict in the form :mod:`harness.codec.v2g.exi_codec` decodes to and encodes from
(schemas ``iso20-common`` and ``iso20-dc``): the root element's name as the only key, its content with
the ``Header`` first, e.g. ``{"SessionSetupReq": {"Header": {"SessionID": "00"*8, "TimeStamp": t},
"EVCCID": "..."}}``.  RationalNumberType values are ``{"Exponent": e, "Value": v}`` (Value * 10^e).
supportedAppProtocol messages keep the shape of :mod:`harness.protocol.din70121.messages`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from enum import IntEnum, StrEnum
from functools import cache
from typing import Any

from harness.protocol.din70121.messages import body, message_name

Message = dict[str, Any]

__all__ = ["Message", "body", "message_name"]

# ISO 15118-20 8.1 / V2G_CI_DC.xsd targetNamespace: the namespace the EVCC offers in
# supportedAppProtocolReq for a -20 DC session, version 1.0.
DC_NAMESPACE = "urn:iso:std:iso:15118:-20:DC"
VERSION_MAJOR = 1
VERSION_MINOR = 0
# V2G_CI_CommonTypes.xsd sessionIDType: hexBinary of length 8; all zero asks for a new session.
SESSION_ID_BYTES = 8
ZERO_SESSION_ID = "00" * SESSION_ID_BYTES
# V2G_CI_CommonTypes.xsd RationalNumberType: Exponent xs:byte, Value xs:short.
EXPONENT_MIN, EXPONENT_MAX = -128, 127
VALUE_MIN, VALUE_MAX = -32768, 32767
# V2G_CI_CommonMessages.xsd maxSupportingPointsScheduleTupleType: 12..1024.
MAX_SUPPORTING_POINTS = 1024
# V2G_CI_CommonMessages.xsd Scheduled_SEResControlModeType: at most 3 ScheduleTuple.
MAX_SCHEDULE_TUPLES = 3


class ServiceID(IntEnum):
    """ISO 15118-20 energy transfer service IDs (REFERENCE-DER.md 4): 2 DC, 6 DC_BPT."""

    DC = 2
    DC_BPT = 6


class ResponseCode(StrEnum):
    """V2G_CI_CommonTypes.xsd responseCodeType (the codes the cores use; the codec knows them all)."""

    OK = "OK"
    OK_NewSessionEstablished = "OK_NewSessionEstablished"
    OK_OldSessionJoined = "OK_OldSessionJoined"
    WARNING_StandbyNotAllowed = "WARNING_StandbyNotAllowed"
    FAILED = "FAILED"
    FAILED_NoEnergyTransferServiceSelected = "FAILED_NoEnergyTransferServiceSelected"
    FAILED_NoServiceRenegotiationSupported = "FAILED_NoServiceRenegotiationSupported"
    FAILED_PauseNotAllowed = "FAILED_PauseNotAllowed"
    FAILED_PowerDeliveryNotApplied = "FAILED_PowerDeliveryNotApplied"
    FAILED_ScheduleRenegotiation = "FAILED_ScheduleRenegotiation"
    FAILED_ScheduleSelectionInvalid = "FAILED_ScheduleSelectionInvalid"
    FAILED_SequenceError = "FAILED_SequenceError"
    FAILED_ServiceIDInvalid = "FAILED_ServiceIDInvalid"
    FAILED_ServiceSelectionInvalid = "FAILED_ServiceSelectionInvalid"
    FAILED_UnknownSession = "FAILED_UnknownSession"
    FAILED_WrongChargeParameter = "FAILED_WrongChargeParameter"

    @property
    def failed(self) -> bool:
        return self.value.startswith("FAILED")


class Processing(StrEnum):
    """processingType (EVSEProcessing, EVProcessing)."""

    Finished = "Finished"
    Ongoing = "Ongoing"
    Ongoing_WaitingForCustomerInteraction = "Ongoing_WaitingForCustomerInteraction"


class ChargeProgress(StrEnum):
    """chargeProgressType of PowerDeliveryReq."""

    Start = "Start"
    Stop = "Stop"
    Standby = "Standby"
    ScheduleRenegotiation = "ScheduleRenegotiation"


class ChannelSelection(StrEnum):
    """channelSelectionType: PowerDeliveryReq.BPT_ChannelSelection."""

    Charge = "Charge"
    Discharge = "Discharge"


class ChargingSession(StrEnum):
    """chargingSessionType of SessionStopReq."""

    Pause = "Pause"
    Terminate = "Terminate"
    ServiceRenegotiation = "ServiceRenegotiation"


class EVSENotification(StrEnum):
    """evseNotificationType."""

    Pause = "Pause"
    ExitStandby = "ExitStandby"
    Terminate = "Terminate"
    ScheduleRenegotiation = "ScheduleRenegotiation"
    ServiceRenegotiation = "ServiceRenegotiation"
    MeteringConfirmation = "MeteringConfirmation"


# The requests of a -20 DC session (EIM) and the response each gets, in sequence order (ISO 15118-20 8.8).
REQUEST_TO_RESPONSE: dict[str, str] = {
    "supportedAppProtocolReq": "supportedAppProtocolRes",
    "SessionSetupReq": "SessionSetupRes",
    "AuthorizationSetupReq": "AuthorizationSetupRes",
    "AuthorizationReq": "AuthorizationRes",
    "ServiceDiscoveryReq": "ServiceDiscoveryRes",
    "ServiceDetailReq": "ServiceDetailRes",
    "ServiceSelectionReq": "ServiceSelectionRes",
    "DC_ChargeParameterDiscoveryReq": "DC_ChargeParameterDiscoveryRes",
    "ScheduleExchangeReq": "ScheduleExchangeRes",
    "DC_CableCheckReq": "DC_CableCheckRes",
    "DC_PreChargeReq": "DC_PreChargeRes",
    "PowerDeliveryReq": "PowerDeliveryRes",
    "DC_ChargeLoopReq": "DC_ChargeLoopRes",
    "DC_WeldingDetectionReq": "DC_WeldingDetectionRes",
    "SessionStopReq": "SessionStopRes",
}
RESPONSE_TO_REQUEST = {response: request for request, response in REQUEST_TO_RESPONSE.items()}
# A typical -20 DC session's requests, each repeated phase counted once (PowerDeliveryReq twice:
# Start, then Stop).
TYPICAL_DC_SESSION_REQUESTS = (
    "supportedAppProtocolReq",
    "SessionSetupReq",
    "AuthorizationSetupReq",
    "AuthorizationReq",
    "ServiceDiscoveryReq",
    "ServiceDetailReq",
    "ServiceSelectionReq",
    "DC_ChargeParameterDiscoveryReq",
    "ScheduleExchangeReq",
    "DC_CableCheckReq",
    "DC_PreChargeReq",
    "PowerDeliveryReq",
    "DC_ChargeLoopReq",
    "PowerDeliveryReq",
    "DC_WeldingDetectionReq",
    "SessionStopReq",
)


# --- schemas -----------------------------------------------------------------------------------------


@cache
def _schema_names() -> dict[str, str]:
    """Root element name -> codec schema, from the generated grammars' global elements in each schema's
    own target namespace (so it follows the XSDs, not a hand-kept list)."""
    from harness.codec.v2g.exi_codec import SCHEMAS
    from harness.codec.v2g.grammars import app, iso20_common, iso20_dc

    names: dict[str, str] = {}
    for schema, module in (("app", app), ("iso20-common", iso20_common), ("iso20-dc", iso20_dc)):
        assert schema in SCHEMAS
        for local_name, namespace, _ in module.DOCUMENT:
            if namespace == module.NAMESPACE:
                names[local_name] = schema
    return names


def schema_of(message_name: str) -> str:
    """The codec schema (``app``, ``iso20-common`` or ``iso20-dc``) whose root element ``message_name``
    is; ValueError for a name that is no global element of those schemas."""
    try:
        return _schema_names()[message_name]
    except KeyError:
        raise ValueError(f"{message_name!r} is no ISO 15118-20 common/DC or SAP message") from None


# --- rational numbers ----------------------------------------------------------------------------------


def rational(quantity: float) -> dict[str, int]:
    """RationalNumberType for ``quantity``: the smallest exponent (>= -3) whose Value fits xs:short, so
    no precision is thrown away needlessly and no value is written finer than a milli-unit."""
    if not math.isfinite(quantity):
        raise ValueError(f"cannot represent {quantity!r} as a RationalNumber")
    for exponent in range(-3, EXPONENT_MAX + 1):
        value = round(quantity / 10.0**exponent)
        if VALUE_MIN <= value <= VALUE_MAX:
            return {"Exponent": exponent, "Value": int(value)}
    raise ValueError(f"{quantity} is out of the RationalNumber range")


def to_float(value: Mapping[str, Any]) -> float:
    """The quantity a RationalNumber dict stands for."""
    return int(value["Value"]) * 10.0 ** int(value["Exponent"])


def optional_float(content: Mapping[str, Any], key: str) -> float | None:
    value = content.get(key)
    return None if value is None else to_float(value)


# --- reading messages ----------------------------------------------------------------------------------


def session_id(message: Mapping[str, Any]) -> str | None:
    """The header SessionID (upper-case hex), or None for supportedAppProtocol messages."""
    header = body(message).get("Header")
    if not isinstance(header, Mapping):
        return None
    return str(header.get("SessionID", "")).upper()


def is_zero_session(value: str | None) -> bool:
    return not value or set(value) <= {"0"}


def normalise_hex(value: str) -> str:
    text = value.strip().upper()
    if len(text) % 2:
        text = "0" + text
    int(text or "0", 16)
    return text


def as_list(value: Any) -> list[Any]:
    """An element that may repeat, as a list (the codec already gives lists; hand-made dicts may not)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# --- building messages ---------------------------------------------------------------------------------


def header(session: str, timestamp: int) -> dict[str, Any]:
    """MessageHeaderType: SessionID (8 bytes hex) and TimeStamp (seconds since the Unix epoch)."""
    return {"SessionID": normalise_hex(session), "TimeStamp": int(timestamp)}


def message(name: str, session: str, timestamp: int, content: Mapping[str, Any] | None = None) -> Message:
    """A -20 message: ``{name: {"Header": ..., **content}}``."""
    return {name: {"Header": header(session, timestamp), **dict(content or {})}}


def with_session_id(msg: Mapping[str, Any], session: str) -> Message:
    """A copy of ``msg`` with another header SessionID (a fault, or a tester's probe)."""
    changed = copy.deepcopy(dict(msg))
    body(changed)["Header"]["SessionID"] = normalise_hex(session)
    return changed


def evse_status(notification: str = EVSENotification.Terminate, max_delay_s: int = 0) -> dict[str, Any]:
    """EVSEStatusType: the EVSE's notification and how long the EV may take to react."""
    return {"NotificationMaxDelay": int(max_delay_s), "EVSENotification": str(notification)}


def power_schedule(time_anchor: int, power_w: float, duration_s: int = 86_400) -> dict[str, Any]:
    """PowerScheduleType with one entry of ``power_w`` for ``duration_s`` (negative power: discharge)."""
    entry = {"Duration": int(duration_s), "Power": rational(power_w)}
    return {"TimeAnchor": int(time_anchor), "PowerScheduleEntries": {"PowerScheduleEntry": [entry]}}


def price_level_schedule(time_anchor: int, price_level: int = 0, duration_s: int = 86_400) -> dict[str, Any]:
    """PriceLevelScheduleType (V2G_CI_CommonMessages.xsd): one price level for ``duration_s``."""
    entry = {"Duration": int(duration_s), "PriceLevel": int(price_level)}
    return {
        "TimeAnchor": int(time_anchor),
        "PriceScheduleID": 1,
        "NumberOfPriceLevels": 1,
        "PriceLevelScheduleEntries": {"PriceLevelScheduleEntry": [entry]},
    }
