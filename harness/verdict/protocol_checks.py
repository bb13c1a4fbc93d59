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
from harness.verdict.checks import din70121 as din
from harness.verdict.checks import sdp
from harness.verdict.checks.common import Interval, Present, ResponseTime, malformed
from harness.verdict.verdicts import Verdict

# A capture without the protocol says nothing about it.
_SILENT = Verdict.NOT_APPLICABLE

# (requirement id or None, description, spec)
PROTOCOL_CHECKS: list[tuple[str | None, str, dict[str, Any]]] = [
    (
        None,
        "every frame of a protocol under test decodes",
        Present(malformed(), min=0, max=0).spec(),
    ),
    (
        sdp.SDP_SECC_04,
        "SECCDiscoveryReq answered within SDP_RESPONSE_WAIT",
        ResponseTime(
            sdp.discovery_request(), sdp.discovery_response(), SDP_RESPONSE_WAIT_S, on_missing=_SILENT
        ).spec(),
    ),
    (
        sdp.SDP_EVCC_01,
        "repeated SECCDiscoveryReq at least SDP_RESPONSE_WAIT apart",
        Interval(
            sdp.discovery_request(), min_s=SDP_RESPONSE_WAIT_S, per_source=True, on_missing=_SILENT
        ).spec(),
    ),
    # DIN SPEC 70121 Table 75: the SECC answers CurrentDemandReq within its 25 ms performance time, and
    # every other request before the EVCC's 2 s V2G_EVCC_Msg_Timeout.
    (
        din.DIN_SECC_TIME_01,
        "DIN CurrentDemandReq answered within the SECC's 25 ms performance time",
        ResponseTime(
            din.din("CurrentDemandReq"),
            din.din("CurrentDemandRes"),
            V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S,
            on_missing=_SILENT,
        ).spec(),
    ),
    *(
        (
            din.DIN_SECC_TIME_02,
            f"DIN {request} answered within V2G_EVCC_Msg_Timeout",
            ResponseTime(
                din.din(request), din.din(response), V2G_EVCC_MSG_TIMEOUT_S, on_missing=_SILENT
            ).spec(),
        )
        for request, response in REQUEST_TO_RESPONSE.items()
        if request != "CurrentDemandReq"
    ),
]
