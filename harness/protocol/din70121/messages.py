"""DIN SPEC 70121 and SupportedAppProtocol messages as the EXI codec represents them, with typed helpers.

A message is a plain JSON-compatible dict in exactly the form `harness.codec.v2g` decodes to and encodes
from (and EXIficient prints): element names as keys, repeated elements as lists, hexBinary as upper-case
hex, enumerations by name, PhysicalValues as ``{"Multiplier": m, "Unit": u, "Value": v}``. DIN messages
are wrapped as ``{"V2G_Message": {"Header": {"SessionID": ...}, "Body": {"<Name>": {...}}}}``; the
SupportedAppProtocol messages are the bare ``{"supportedAppProtocolReq": {...}}``.

The builders below produce every element the reference devices send, in the shape the sample captures
show, so that key sets match the decoded vectors of the same message type.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Message = dict[str, Any]

# DIN SPEC 70121 9.1 / urn:iso:15118:2:2010:AppProtocol: the namespace and version the EVCC offers.
DIN_NAMESPACE = "urn:din:70121:2012:MsgDef"
DIN_VERSION_MAJOR = 2
DIN_VERSION_MINOR = 0
# DIN SPEC 70121 8.4.3.2: SessionSetupReq carries SessionID 0 when the EVCC starts a new session.
ZERO_SESSION_ID = "00"
# DIN SPEC 70121 8.4.3.2: the SECC's SessionID is 8 bytes.
SESSION_ID_BYTES = 8
# DIN SPEC 70121 8.5.2 (PhysicalValueType): Value is xs:short, Multiplier -3..3.
PHYSICAL_VALUE_MIN = -32768
PHYSICAL_VALUE_MAX = 32767
MULTIPLIER_MIN = -3
MULTIPLIER_MAX = 3
# DIN SPEC 70121 8.4.3.3.2: ServiceID of the DC charge service.
CHARGE_SERVICE_ID = 1

# The requests of a DIN DC session and the response each one gets (DIN SPEC 70121 8.4).
REQUEST_TO_RESPONSE: dict[str, str] = {
    "supportedAppProtocolReq": "supportedAppProtocolRes",
    "SessionSetupReq": "SessionSetupRes",
    "ServiceDiscoveryReq": "ServiceDiscoveryRes",
    "ServicePaymentSelectionReq": "ServicePaymentSelectionRes",
    "ContractAuthenticationReq": "ContractAuthenticationRes",
    "ChargeParameterDiscoveryReq": "ChargeParameterDiscoveryRes",
    "CableCheckReq": "CableCheckRes",
    "PreChargeReq": "PreChargeRes",
    "PowerDeliveryReq": "PowerDeliveryRes",
    "CurrentDemandReq": "CurrentDemandRes",
    "WeldingDetectionReq": "WeldingDetectionRes",
    "SessionStopReq": "SessionStopRes",
}
# The requests of a typical DIN DC session in order, each repeated phase counted once (REFERENCE.md
# section 5: CableCheck and PreCharge repeat, CurrentDemand loops, WeldingDetection repeats).
TYPICAL_DC_SESSION_REQUESTS = (
    "supportedAppProtocolReq",
    "SessionSetupReq",
    "ServiceDiscoveryReq",
    "ServicePaymentSelectionReq",
    "ContractAuthenticationReq",
    "ChargeParameterDiscoveryReq",
    "CableCheckReq",
    "PreChargeReq",
    "PowerDeliveryReq",
    "CurrentDemandReq",
    "PowerDeliveryReq",
    "WeldingDetectionReq",
    "SessionStopReq",
)
DIN_REQUESTS = tuple(name for name in REQUEST_TO_RESPONSE if name != "supportedAppProtocolReq")


class ResponseCode(StrEnum):
    """DIN SPEC 70121 responseCodeType."""

    OK = "OK"
    OK_NewSessionEstablished = "OK_NewSessionEstablished"
    OK_OldSessionJoined = "OK_OldSessionJoined"
    OK_CertificateExpiresSoon = "OK_CertificateExpiresSoon"
    FAILED = "FAILED"
    FAILED_SequenceError = "FAILED_SequenceError"
    FAILED_ServiceIDInvalid = "FAILED_ServiceIDInvalid"
    FAILED_UnknownSession = "FAILED_UnknownSession"
    FAILED_ServiceSelectionInvalid = "FAILED_ServiceSelectionInvalid"
    FAILED_PaymentSelectionInvalid = "FAILED_PaymentSelectionInvalid"
    FAILED_CertificateExpired = "FAILED_CertificateExpired"
    FAILED_SignatureError = "FAILED_SignatureError"
    FAILED_NoCertificateAvailable = "FAILED_NoCertificateAvailable"
    FAILED_CertChainError = "FAILED_CertChainError"
    FAILED_ChallengeInvalid = "FAILED_ChallengeInvalid"
    FAILED_ContractCanceled = "FAILED_ContractCanceled"
    FAILED_WrongChargeParameter = "FAILED_WrongChargeParameter"
    FAILED_PowerDeliveryNotApplied = "FAILED_PowerDeliveryNotApplied"
    FAILED_TariffSelectionInvalid = "FAILED_TariffSelectionInvalid"
    FAILED_ChargingProfileInvalid = "FAILED_ChargingProfileInvalid"
    FAILED_EVSEPresentVoltageToLow = "FAILED_EVSEPresentVoltageToLow"
    FAILED_MeteringSignatureNotValid = "FAILED_MeteringSignatureNotValid"
    FAILED_WrongEnergyTransferType = "FAILED_WrongEnergyTransferType"

    @property
    def failed(self) -> bool:
        return self.value.startswith("FAILED")


class AppProtocolResponseCode(StrEnum):
    """urn:iso:15118:2:2010:AppProtocol responseCodeType."""

    OK_SuccessfulNegotiation = "OK_SuccessfulNegotiation"
    OK_SuccessfulNegotiationWithMinorDeviation = "OK_SuccessfulNegotiationWithMinorDeviation"
    Failed_NoNegotiation = "Failed_NoNegotiation"


class EVSEProcessing(StrEnum):
    """DIN SPEC 70121 EVSEProcessingType."""

    Finished = "Finished"
    Ongoing = "Ongoing"


class IsolationLevel(StrEnum):
    """DIN SPEC 70121 isolationLevelType (EVSEIsolationStatus)."""

    Invalid = "Invalid"
    Valid = "Valid"
    Warning = "Warning"
    Fault = "Fault"


class DCEVSEStatusCode(StrEnum):
    """DIN SPEC 70121 DC_EVSEStatusCodeType."""

    EVSE_NotReady = "EVSE_NotReady"
    EVSE_Ready = "EVSE_Ready"
    EVSE_Shutdown = "EVSE_Shutdown"
    EVSE_UtilityInterruptEvent = "EVSE_UtilityInterruptEvent"
    EVSE_IsolationMonitoringActive = "EVSE_IsolationMonitoringActive"
    EVSE_EmergencyShutdown = "EVSE_EmergencyShutdown"
    EVSE_Malfunction = "EVSE_Malfunction"


class EVSENotification(StrEnum):
    """DIN SPEC 70121 EVSENotificationType."""

    None_ = "None"
    StopCharging = "StopCharging"
    ReNegotiation = "ReNegotiation"


class DCEVErrorCode(StrEnum):
    """DIN SPEC 70121 DC_EVErrorCodeType (the codes the reference EV uses)."""

    NO_ERROR = "NO_ERROR"
    FAILED_RESSTemperatureInhibit = "FAILED_RESSTemperatureInhibit"
    FAILED_EVShiftPosition = "FAILED_EVShiftPosition"
    FAILED_ChargerConnectorLockFault = "FAILED_ChargerConnectorLockFault"
    FAILED_EVRESSMalfunction = "FAILED_EVRESSMalfunction"
    FAILED_ChargingCurrentdifferential = "FAILED_ChargingCurrentdifferential"
    FAILED_ChargingVoltageOutOfRange = "FAILED_ChargingVoltageOutOfRange"
    FAILED_ChargingSystemIncompatibility = "FAILED_ChargingSystemIncompatibility"
    NoData = "NoData"


class PaymentOption(StrEnum):
    """DIN SPEC 70121 paymentOptionType; DIN DC uses ExternalPayment only."""

    Contract = "Contract"
    ExternalPayment = "ExternalPayment"


# DIN SPEC 70121 EVSEStatusCodes after which the EV must end energy transfer.
SHUTDOWN_STATUS_CODES = frozenset(
    {
        DCEVSEStatusCode.EVSE_Shutdown,
        DCEVSEStatusCode.EVSE_EmergencyShutdown,
        DCEVSEStatusCode.EVSE_Malfunction,
        DCEVSEStatusCode.EVSE_UtilityInterruptEvent,
    }
)


@dataclass(frozen=True, slots=True)
class PhysicalValue:
    """DIN SPEC 70121 PhysicalValueType: Value * 10^Multiplier in Unit."""

    multiplier: int
    unit: str
    value: int

    def to_float(self) -> float:
        return self.value * 10.0**self.multiplier

    def to_dict(self) -> dict[str, Any]:
        return {"Multiplier": self.multiplier, "Unit": self.unit, "Value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhysicalValue:
        return cls(int(data["Multiplier"]), str(data["Unit"]), int(data["Value"]))

    @classmethod
    def from_float(cls, quantity: float, unit: str) -> PhysicalValue:
        """The finest multiplier whose Value still fits xs:short: no precision thrown away needlessly."""
        if not math.isfinite(quantity):
            raise ValueError(f"cannot represent {quantity!r} {unit} as a PhysicalValue")
        for multiplier in range(MULTIPLIER_MIN, MULTIPLIER_MAX + 1):
            value = round(quantity / 10.0**multiplier)
            if PHYSICAL_VALUE_MIN <= value <= PHYSICAL_VALUE_MAX:
                return cls(multiplier, unit, int(value))
        raise ValueError(f"{quantity} {unit} is out of the PhysicalValue range")


def physical(quantity: float, unit: str) -> dict[str, Any]:
    """A PhysicalValue dict for ``quantity`` in ``unit``."""
    return PhysicalValue.from_float(quantity, unit).to_dict()


def seconds(duration_s: float) -> dict[str, Any]:
    """A duration as whole seconds (Multiplier 0, as EVs send RemainingTimeTo*SoC), capped at xs:short."""
    return PhysicalValue(0, "s", max(0, min(PHYSICAL_VALUE_MAX, round(duration_s)))).to_dict()


def to_float(value: Mapping[str, Any]) -> float:
    """The quantity a PhysicalValue dict stands for."""
    return PhysicalValue.from_dict(value).to_float()


# --- reading messages ---------------------------------------------------------------------------------


def message_name(message: Mapping[str, Any]) -> str:
    """The body element name: ``SessionSetupReq``, ``supportedAppProtocolRes``, ..."""
    v2g = message.get("V2G_Message")
    if isinstance(v2g, Mapping):
        body = v2g.get("Body")
        if isinstance(body, Mapping) and len(body) == 1:
            return next(iter(body))
        raise ValueError("V2G_Message without exactly one body element")
    if len(message) == 1:
        return next(iter(message))
    raise ValueError("message is neither a V2G_Message nor a single SupportedAppProtocol element")


def body(message: Mapping[str, Any]) -> dict[str, Any]:
    """The content of the body element."""
    v2g = message.get("V2G_Message")
    if isinstance(v2g, Mapping):
        return v2g["Body"][message_name(message)]
    return message[message_name(message)]


def session_id(message: Mapping[str, Any]) -> str | None:
    """The header SessionID (upper-case hex), or None for SupportedAppProtocol messages."""
    v2g = message.get("V2G_Message")
    if not isinstance(v2g, Mapping):
        return None
    return str(v2g.get("Header", {}).get("SessionID", "")).upper()


def response_code(message: Mapping[str, Any]) -> str | None:
    return body(message).get("ResponseCode")


def v2g_message(session: str, name: str, content: Mapping[str, Any]) -> Message:
    """Wrap a body in a DIN V2G_Message with the given header SessionID."""
    return {"V2G_Message": {"Header": {"SessionID": session.upper()}, "Body": {name: dict(content)}}}


def with_session_id(message: Mapping[str, Any], session: str) -> Message:
    """A copy of ``message`` with another header SessionID."""
    changed = copy.deepcopy(dict(message))
    changed["V2G_Message"]["Header"]["SessionID"] = session.upper()
    return changed


def normalise_hex(value: str) -> str:
    """hexBinary as the codec writes it: upper case, even length."""
    text = value.strip().upper()
    if len(text) % 2:
        text = "0" + text
    int(text or "0", 16)  # raises ValueError on non-hex
    return text


def is_zero_session(value: str | None) -> bool:
    """DIN SPEC 70121 8.4.3.2: a SessionID of all zero bytes (or empty) asks for a new session."""
    if not value:
        return True
    return set(value) <= {"0"}


# --- building messages --------------------------------------------------------------------------------


def dc_ev_status(soc: float, *, ready: bool = True, error: str = DCEVErrorCode.NO_ERROR) -> dict[str, Any]:
    """DIN SPEC 70121 DC_EVStatusType."""
    return {"EVReady": ready, "EVErrorCode": str(error), "EVRESSSOC": max(0, min(100, int(soc)))}


def dc_evse_status(
    *,
    isolation: str = IsolationLevel.Valid,
    status_code: str = DCEVSEStatusCode.EVSE_Ready,
    notification: str = EVSENotification.None_,
    notification_max_delay: int = 0,
) -> dict[str, Any]:
    """DIN SPEC 70121 DC_EVSEStatusType."""
    return {
        "EVSEIsolationStatus": str(isolation),
        "EVSEStatusCode": str(status_code),
        "NotificationMaxDelay": notification_max_delay,
        "EVSENotification": str(notification),
    }


def app_protocol_entry(
    namespace: str, major: int, minor: int, schema_id: int, priority: int
) -> dict[str, Any]:
    """One AppProtocol of a supportedAppProtocolReq."""
    return {
        "ProtocolNamespace": namespace,
        "VersionNumberMajor": major,
        "VersionNumberMinor": minor,
        "SchemaID": schema_id,
        "Priority": priority,
    }


def supported_app_protocol_req(schema_id: int = 1, priority: int = 1) -> Message:
    """A supportedAppProtocolReq offering DIN SPEC 70121 only."""
    entry = app_protocol_entry(DIN_NAMESPACE, DIN_VERSION_MAJOR, DIN_VERSION_MINOR, schema_id, priority)
    return {"supportedAppProtocolReq": {"AppProtocol": [entry]}}


def supported_app_protocol_res(code: str, schema_id: int | None) -> Message:
    content: dict[str, Any] = {"ResponseCode": str(code)}
    if schema_id is not None:
        content["SchemaID"] = schema_id
    return {"supportedAppProtocolRes": content}
