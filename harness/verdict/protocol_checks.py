"""Protocol-level checks that need no scenario: `vgi analyze CAPTURE` applies them to any capture.

They judge what a capture alone can say: every frame of a protocol under test decodes, SDP requests
are answered within the EVCC's wait, and an unanswered EVCC waits before repeating.
"""

from __future__ import annotations

from typing import Any

from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE
from harness.protocol.din70121.timing import (
    V2G_EVCC_MSG_TIMEOUT_S,
    V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S,
)
from harness.protocol.sdp import SDP_RESPONSE_WAIT_S

_REQ = {"protocol": "SDP", "message": "SECCDiscoveryReq"}
_RES = {"protocol": "SDP", "message": "SECCDiscoveryRes"}

# (requirement id or None, description, spec); "on_missing" NOT_APPLICABLE: a capture without SDP
# says nothing about SDP.
PROTOCOL_CHECKS: list[tuple[str | None, str, dict[str, Any]]] = [
    (
        None,
        "every frame of a protocol under test decodes",
        {"kind": "present", "select": {"error": True}, "min": 0, "max": 0},
    ),
    (
        "SDP-SECC-04",
        "SECCDiscoveryReq answered within SDP_RESPONSE_WAIT",
        {
            "kind": "response_time",
            "request": _REQ,
            "response": _RES,
            "max_s": SDP_RESPONSE_WAIT_S,
            "on_missing": "NOT_APPLICABLE",
        },
    ),
    (
        "SDP-EVCC-01",
        "repeated SECCDiscoveryReq at least SDP_RESPONSE_WAIT apart",
        {
            "kind": "interval",
            "select": _REQ,
            "min_s": SDP_RESPONSE_WAIT_S,
            "per_source": True,
            "on_missing": "NOT_APPLICABLE",
        },
    ),
]


def _din(message: str) -> dict[str, Any]:
    return {
        "protocol": "AppProtocol" if message.startswith("supportedAppProtocol") else "DIN",
        "message": message,
    }


# DIN SPEC 70121 Table 75: the SECC answers CurrentDemandReq within its 25 ms performance time, and every
# other request before the EVCC's 2 s V2G_EVCC_Msg_Timeout. A capture without DIN says nothing about them.
PROTOCOL_CHECKS.append(
    (
        "DIN-SECC-TIME-01",
        "DIN CurrentDemandReq answered within the SECC's 25 ms performance time",
        {
            "kind": "response_time",
            "request": _din("CurrentDemandReq"),
            "response": _din("CurrentDemandRes"),
            "max_s": V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S,
            "on_missing": "NOT_APPLICABLE",
        },
    )
)
PROTOCOL_CHECKS.extend(
    (
        "DIN-SECC-TIME-02",
        f"DIN {request} answered within V2G_EVCC_Msg_Timeout",
        {
            "kind": "response_time",
            "request": _din(request),
            "response": _din(response),
            "max_s": V2G_EVCC_MSG_TIMEOUT_S,
            "on_missing": "NOT_APPLICABLE",
        },
    )
    for request, response in REQUEST_TO_RESPONSE.items()
    if request != "CurrentDemandReq"
)
