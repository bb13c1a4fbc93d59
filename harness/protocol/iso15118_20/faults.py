"""ISO 15118-20 tester faults, on the kernel's generic action faults (:mod:`harness.protocol.faults`).

A -20 tester role is a reference core wrapped in :class:`~harness.protocol.faults.FaultyCore` with
these faults, so every negative test runs the same machine as the positive one.  The generic parts
(selecting a message by name and occurrence, delay, drop, a malformed-payload marker, another
ResponseCode) are DIN's and work on -20 dicts unchanged; this module adds the -20 rewrites: a wrong
SessionID, a request out of sequence, a service or parameter set that was not offered, a charge loop in
another control mode, a BPT charge loop without discharge limits or discharging in a DC session, and
the EVSE's Terminate notification.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from harness.protocol.core import Send
from harness.protocol.din70121.faults import FOREIGN_SESSION_ID, delay, drop, malformed, response_code, sends
from harness.protocol.faults import Fault, Rewrite
from harness.protocol.iso15118_20 import bpt
from harness.protocol.iso15118_20.messages import (
    ChargeProgress,
    ChargingSession,
    EVSENotification,
    Message,
    Processing,
    body,
    evse_status,
    message,
    rational,
    with_session_id,
)

__all__ = [
    "FOREIGN_SESSION_ID",
    "charge_loop_control_mode",
    "delay",
    "discharge_without_bpt",
    "drop",
    "evse_terminate",
    "malformed",
    "out_of_sequence",
    "response_code",
    "select_service",
    "sends",
    "service_detail_of",
    "without_discharge_limits",
    "wrong_session_id",
]


def _window(occurrence: int) -> dict[str, Any]:
    """'The n-th such message' (n >= 1) or 'every one' (0)."""
    if occurrence < 0:
        raise ValueError("occurrence is 1-based, or 0 for every message")
    return {"after": 0, "times": None} if occurrence == 0 else {"after": occurrence - 1, "times": 1}


def _edit(name: str, change: Callable[[Message], Message | None], occurrence: int) -> Fault:
    def rewrite(action: Send) -> Send:
        edited = copy.deepcopy(action.message)
        replaced = change(edited)
        result = edited if replaced is None else replaced
        return Send(result, next(iter(result)))

    return Rewrite(sends(name), rewrite=rewrite, **_window(occurrence))


def wrong_session_id(name: str, occurrence: int = 1, session: str = FOREIGN_SESSION_ID) -> Fault:
    """Send ``name`` with a SessionID that is not the session's (FAILED_UnknownSession expected)."""
    return _edit(name, lambda msg: with_session_id(msg, session), occurrence)


# Minimal valid requests a tester sends out of sequence (their content is all the schema requires).
_TEMPLATES: dict[str, dict[str, Any]] = {
    "AuthorizationSetupReq": {},
    "ServiceDiscoveryReq": {},
    "DC_CableCheckReq": {},
    "DC_WeldingDetectionReq": {"EVProcessing": str(Processing.Ongoing)},
    "DC_PreChargeReq": {
        "EVProcessing": str(Processing.Ongoing),
        "EVPresentVoltage": rational(400.0),
        "EVTargetVoltage": rational(400.0),
    },
    "PowerDeliveryReq": {
        "EVProcessing": str(Processing.Finished),
        "ChargeProgress": str(ChargeProgress.Stop),
    },
    "SessionStopReq": {"ChargingSession": str(ChargingSession.Terminate)},
}


def out_of_sequence(instead_of: str, send: str, occurrence: int = 1) -> Fault:
    """Send request ``send`` (one of the templates) in place of ``instead_of``, with its header."""
    if send not in _TEMPLATES:
        raise ValueError(f"no out-of-sequence template for {send}; one of {sorted(_TEMPLATES)}")

    def replace(msg: Message) -> Message:
        header = body(msg)["Header"]
        return message(send, header["SessionID"], header["TimeStamp"], _TEMPLATES[send])

    return _edit(instead_of, replace, occurrence)


def select_service(service_id: int, parameter_set_id: int = 1, occurrence: int = 1) -> Fault:
    """ServiceSelectionReq selects ``service_id`` / ``parameter_set_id`` whatever was offered."""

    def change(msg: Message) -> None:
        body(msg)["SelectedEnergyTransferService"] = {
            "ServiceID": service_id,
            "ParameterSetID": parameter_set_id,
        }

    return _edit("ServiceSelectionReq", change, occurrence)


def service_detail_of(service_id: int, occurrence: int = 1) -> Fault:
    """ServiceDetailReq asks for ``service_id`` whatever was offered."""

    def change(msg: Message) -> None:
        body(msg)["ServiceID"] = service_id

    return _edit("ServiceDetailReq", change, occurrence)


def charge_loop_control_mode(element: str, occurrence: int = 1) -> Fault:
    """DC_ChargeLoopReq carries its control mode's content under another element name (e.g. a
    Dynamic_DC_CLReqControlMode in a scheduled session)."""
    if element not in bpt.CL_REQ_NAMES:
        raise ValueError(f"{element} is no DC charge-loop control mode; one of {sorted(bpt.CL_REQ_NAMES)}")

    def change(msg: Message) -> None:
        content = body(msg)
        present = bpt.control_mode_of(content)
        if present is not None and present != element:
            content[element] = content.pop(present)

    return _edit("DC_ChargeLoopReq", change, occurrence)


def without_discharge_limits(occurrence: int = 1) -> Fault:
    """A BPT DC_ChargeLoopReq without the EV's maximum discharge power and current."""

    def change(msg: Message) -> None:
        content = body(msg)
        mode = content.get(bpt.control_mode_of(content) or "", {})
        for name in bpt.REQUIRED_LOOP_DISCHARGE_LIMITS:
            mode.pop(name, None)

    return _edit("DC_ChargeLoopReq", change, occurrence)


def discharge_without_bpt(current_a: float = -20.0, occurrence: int = 1) -> Fault:
    """A scheduled DC_ChargeLoopReq asking for a discharge (negative EVTargetCurrent)."""

    def change(msg: Message) -> None:
        content = body(msg)
        mode = content.get(bpt.control_mode_of(content) or "", {})
        if "EVTargetCurrent" in mode:
            mode["EVTargetCurrent"] = rational(current_a)

    return _edit("DC_ChargeLoopReq", change, occurrence)


def evse_terminate(name: str = "DC_ChargeLoopRes", occurrence: int = 1) -> Fault:
    """The SECC's ``name`` (DC_ChargeLoopRes or PowerDeliveryRes) notifies Terminate."""

    def change(msg: Message) -> None:
        content = body(msg)
        status = evse_status(EVSENotification.Terminate)
        # EVSEStatus follows ResponseCode in both responses' schema order; the codec takes keys by name.
        content["EVSEStatus"] = status

    return _edit(name, change, occurrence)
