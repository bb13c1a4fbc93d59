"""Protocol-level checks that need no scenario: `vgi analyze CAPTURE` applies them to any capture.

They judge what a capture alone can say: every frame of a protocol under test decodes, SDP requests
are answered within the EVCC's wait, and an unanswered EVCC waits before repeating.
"""

from __future__ import annotations

from typing import Any

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
