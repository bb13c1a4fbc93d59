"""DIN SPEC 70121 faults, built on the generic action faults of :mod:`harness.protocol.faults`.

A tester role is the reference machine plus faults: the kernel's :class:`~harness.protocol.faults.FaultyCore`
wraps an EVCC or SECC machine and passes the actions it returns through the generic fault injector (a delay
is released through a kernel timer, on whichever clock drives the machine). This module supplies the
DIN-specific parts: the selector :func:`sends` (by message name and occurrence) and rewrites of the message
dicts (SessionID, ResponseCode, DC_EVSEStatus, a request out of sequence, a malformed-payload marker).
Negative tests therefore run the same machine as positive ones.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from harness.protocol.core import Send
from harness.protocol.din70121.events import SendMalformed, send
from harness.protocol.din70121.messages import (
    DCEVErrorCode,
    DCEVSEStatusCode,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    Message,
    ResponseCode,
    body,
    dc_ev_status,
    physical,
    seconds,
    session_id,
    v2g_message,
    with_session_id,
)
from harness.protocol.din70121.profile import DIN, DcProfile
from harness.protocol.faults import Delay, Drop, Fault, Rewrite

# A SessionID no SECC hands out by chance in a test run (8 bytes, DIN SPEC 70121 8.4.3.2).
FOREIGN_SESSION_ID = "DEADBEEF00C0FFEE"


def sends(name: str) -> Callable[[object], bool]:
    """Selects the Send actions of message ``name`` (body element name)."""
    return lambda action: isinstance(action, Send) and action.name == name


def _window(occurrence: int) -> dict[str, Any]:
    """Generic fault window for 'the n-th such message' (n >= 1) or 'every one' (0)."""
    if occurrence < 0:
        raise ValueError("occurrence is 1-based, or 0 for every message")
    return {"after": 0, "times": None} if occurrence == 0 else {"after": occurrence - 1, "times": 1}


def _rewrite_message(edit: Callable[[Message], None]) -> Callable[[Send], Send]:
    def rewrite(action: Send) -> Send:
        message = copy.deepcopy(action.message)
        edit(message)
        return send(message)

    return rewrite


# --- the faults of a DIN SPEC 70121 tester ---------------------------------------------------------------


def wrong_session_id(message: str, occurrence: int = 1, session: str = FOREIGN_SESSION_ID) -> Fault:
    """Send ``message`` with a SessionID that is not the session's."""
    return Rewrite(
        sends(message),
        rewrite=lambda action: send(with_session_id(action.message, session)),
        **_window(occurrence),
    )


def stale_session_id(message: str, stale: str, occurrence: int = 1) -> Fault:
    """Send ``message`` with the SessionID of an earlier, finished session."""
    return wrong_session_id(message, occurrence, stale)


def response_code(message: str, code: str = ResponseCode.FAILED, occurrence: int = 1) -> Fault:
    """Answer with another ResponseCode (FAILED, FAILED_SequenceError, ...)."""

    def edit(msg: Message) -> None:
        body(msg)["ResponseCode"] = str(code)

    return Rewrite(sends(message), rewrite=_rewrite_message(edit), **_window(occurrence))


def delay(message: str, seconds_: float, occurrence: int = 1) -> Fault:
    """Hold ``message`` back for ``seconds_`` before it is sent."""
    return Delay(sends(message), seconds=seconds_, **_window(occurrence))


def drop(message: str, occurrence: int = 1) -> Fault:
    """Never send ``message``."""
    return Drop(sends(message), **_window(occurrence))


def malformed(message: str, occurrence: int = 1, corruption: str = "exi-header") -> Fault:
    """Send undecodable bytes in place of ``message``: the transport applies :func:`corrupt` to the encoded
    EXI; in memory the peer gets MalformedReceived."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; one of {sorted(CORRUPTIONS)}")
    return Rewrite(
        sends(message),
        rewrite=lambda action: SendMalformed(action.message, corruption),
        **_window(occurrence),
    )


# How a transport turns a SendMalformed marker into bytes, applied to the encoded EXI payload (the V2GTP
# header stays valid, so the peer's EXI decoder, not its framing, has to catch it).
def _bad_header(payload: bytes) -> bytes:
    # REFERENCE.md section 6: a V2G EXI stream starts with exactly 0x80; anything else must be rejected.
    return b"\x00" + payload[1:]


def _truncated(payload: bytes) -> bytes:
    return payload[: max(1, len(payload) // 2)]


def _garbage(payload: bytes) -> bytes:
    return b"\x80" + bytes((0xFF,) * max(1, len(payload) - 1))


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "exi-header": _bad_header,
    "truncated-exi": _truncated,
    "garbage": _garbage,
}


def corrupt(payload: bytes, corruption: str) -> bytes:
    """The bytes to send for a SendMalformed marker, from the encoded EXI ``payload``."""
    try:
        return CORRUPTIONS[corruption](payload)
    except KeyError:
        raise ValueError(f"unknown corruption {corruption!r}; one of {sorted(CORRUPTIONS)}") from None


def request_template(name: str, soc: float = 50.0, profile: DcProfile = DIN) -> dict[str, Any]:
    """A plausible body of request ``name`` (values of a typical DC session) in ``profile``'s protocol,
    for out-of-sequence tests; ``name`` is the protocol's own (wire) name."""
    canonical = profile.canonical(name)
    if canonical is None:
        raise ValueError(f"{name} is not a {profile.name} request")
    status = dc_ev_status(soc)
    dc_charge_parameters = {
        "DC_EVStatus": status,
        "EVMaximumCurrentLimit": physical(200.0, "A"),
        "EVMaximumVoltageLimit": physical(420.0, "V"),
    }
    dc_power_delivery = {"DC_EVStatus": status, "BulkChargingComplete": False, "ChargingComplete": False}
    templates: dict[str, dict[str, Any]] = {
        "SessionSetupReq": {"EVCCID": "020000000001"},
        "ServiceDiscoveryReq": {},
        "ServicePaymentSelectionReq": {
            "SelectedPaymentOption": "ExternalPayment",
            "SelectedServiceList": {"SelectedService": [{"ServiceID": 1}]},
        },
        "ContractAuthenticationReq": {},
        "ServiceDetailReq": {"ServiceID": 1},
        "ChargeParameterDiscoveryReq": profile.charge_parameter_request("DC_extended", dc_charge_parameters),
        "CableCheckReq": {"DC_EVStatus": status},
        "PreChargeReq": {
            "DC_EVStatus": status,
            "EVTargetVoltage": physical(360.0, "V"),
            "EVTargetCurrent": physical(0.0, "A"),
        },
        "PowerDeliveryReq": profile.power_delivery_request(True, None, dc_power_delivery),
        "CurrentDemandReq": {
            "DC_EVStatus": status,
            "EVTargetCurrent": physical(50.0, "A"),
            "EVMaximumVoltageLimit": physical(420.0, "V"),
            "EVMaximumCurrentLimit": physical(200.0, "A"),
            "EVMaximumPowerLimit": physical(100_000.0, "W"),
            "BulkChargingComplete": False,
            "ChargingComplete": False,
            "RemainingTimeToFullSoC": seconds(1200.0),
            "RemainingTimeToBulkSoC": seconds(600.0),
            "EVTargetVoltage": physical(380.0, "V"),
        },
        "WeldingDetectionReq": {"DC_EVStatus": status},
        "SessionStopReq": profile.session_stop_request(False),
    }
    return copy.deepcopy(templates[canonical])


def out_of_sequence(instead_of: str, send: str, occurrence: int = 1, profile: DcProfile = DIN) -> Fault:
    """Send request ``send`` (plausible content in ``profile``'s protocol, the session's SessionID) in
    place of ``instead_of``."""

    def rewrite(action: Send) -> Send:
        header = session_id(action.message) or "00"
        # (``send`` is the request's name here, not events.send: the action is built directly)
        return Send(v2g_message(header, send, request_template(send, profile=profile)), send)

    return Rewrite(sends(instead_of), rewrite=rewrite, **_window(occurrence))


def evse_status(
    message: str,
    occurrence: int = 1,
    *,
    status: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> Fault:
    """Rewrite fields of DC_EVSEStatus (and top-level body fields) in a response."""

    def edit(msg: Message) -> None:
        content = body(msg)
        if "DC_EVSEStatus" in content:
            content["DC_EVSEStatus"].update(status or {})
        elif "DC_EVSEChargeParameter" in content:
            content["DC_EVSEChargeParameter"]["DC_EVSEStatus"].update(status or {})
        content.update(fields or {})

    return Rewrite(sends(message), rewrite=_rewrite_message(edit), **_window(occurrence))


def body_fields(message: str, fields: dict[str, Any], occurrence: int = 1) -> Fault:
    """Send ``message`` with top-level body fields replaced (e.g. an AC EVRequestedEnergyTransferType)."""

    def edit(msg: Message) -> None:
        body(msg).update(copy.deepcopy(fields))

    return Rewrite(sends(message), rewrite=_rewrite_message(edit), **_window(occurrence))


def stop_charging_request(occurrence: int = 1) -> Fault:
    """The EVSE asks the EV to stop (EVSENotification=StopCharging) in the n-th CurrentDemandRes."""
    return evse_status(
        "CurrentDemandRes", occurrence, status={"EVSENotification": str(EVSENotification.StopCharging)}
    )


def emergency_shutdown(message: str = "CurrentDemandRes", occurrence: int = 1) -> Fault:
    """The EVSE reports EVSE_EmergencyShutdown in the n-th ``message``."""
    return evse_status(
        message, occurrence, status={"EVSEStatusCode": str(DCEVSEStatusCode.EVSE_EmergencyShutdown)}
    )


def ev_error(
    message: str = "CurrentDemandReq",
    occurrence: int = 1,
    error: str = DCEVErrorCode.FAILED_RESSTemperatureInhibit,
) -> Fault:
    """The EV reports an error (EVReady false, ``error`` as EVErrorCode) in the DC_EVStatus of the n-th
    ``message`` (a request)."""

    def edit(msg: Message) -> None:
        body(msg)["DC_EVStatus"].update({"EVReady": False, "EVErrorCode": str(error)})

    return Rewrite(sends(message), rewrite=_rewrite_message(edit), **_window(occurrence))


def isolation_fault(occurrence: int = 1) -> Fault:
    """The n-th CableCheckRes reports a finished check with EVSEIsolationStatus=Fault."""
    return evse_status(
        "CableCheckRes",
        occurrence,
        status={"EVSEIsolationStatus": str(IsolationLevel.Fault)},
        fields={"EVSEProcessing": str(EVSEProcessing.Finished)},
    )
