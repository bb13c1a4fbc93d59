"""Protocol-level checks that need no scenario: `vgi analyze CAPTURE` applies them to any capture.

They judge what a capture alone can say: every frame of a protocol under test decodes, SDP requests
are answered within the EVCC's wait, and an unanswered EVCC waits before repeating.

The supportedAppProtocol handshake comes before any protocol is chosen, so its timing rule is that of
the protocol it chose: :data:`SESSION_CHECKS` are judged only on connections that go on to carry that
protocol's messages (harness.analysis).  A DIN SPEC 70121 session's handshake: DIN-SECC-TIME-02 (2 s,
Table 75); an ISO 15118-2 session's: ISO2-SECC-TIME-01 (the SECC's 1.5 s, Table 109).  An ISO 15118-20
session's handshake is not judged here: the -20 values the harness has for it are josev's, not checked
against the standard (harness.protocol.iso15118_20.timing), and a -20 scenario judges its own answer
times (ISO20-SECC-TIME-01) with the lab's PIXIT.
"""

from __future__ import annotations

from typing import Any

from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE
from harness.protocol.din70121.timing import (
    V2G_EVCC_MSG_TIMEOUT_S,
    V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S,
)
from harness.protocol.iso15118_2.timing import V2G_SECC_MSG_PERFORMANCE_TIME_S
from harness.protocol.sdp import SDP_RESPONSE_WAIT_S
from harness.verdict.checks import din70121 as din
from harness.verdict.checks import iso15118_2 as iso2
from harness.verdict.checks import sdp
from harness.verdict.checks.common import Interval, Present, ResponseTime, malformed
from harness.verdict.verdicts import Verdict

# A capture without the protocol says nothing about it.
_SILENT = Verdict.NOT_APPLICABLE
# The handshake that chooses the session's protocol (judged by SESSION_CHECKS).
SUPPORTED_APP_PROTOCOL_REQ = "supportedAppProtocolReq"

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
        if request not in ("CurrentDemandReq", SUPPORTED_APP_PROTOCOL_REQ)
    ),
]

_SAP_REQ = din.din(SUPPORTED_APP_PROTOCOL_REQ)
_SAP_RES = din.din(din.response_to(SUPPORTED_APP_PROTOCOL_REQ))

# (session protocol label, requirement id, description, spec): judged on the connections that carry
# messages of that protocol only.
SESSION_CHECKS: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        din.DIN,
        din.DIN_SECC_TIME_02,
        "supportedAppProtocolReq of a DIN session answered within V2G_EVCC_Msg_Timeout",
        ResponseTime(_SAP_REQ, _SAP_RES, V2G_EVCC_MSG_TIMEOUT_S, on_missing=_SILENT).spec(),
    ),
    (
        iso2.ISO2,
        iso2.ISO2_SECC_TIME_01,
        "supportedAppProtocolReq of an ISO 15118-2 session answered within V2G_SECC_Msg_Performance_Time",
        ResponseTime(_SAP_REQ, _SAP_RES, V2G_SECC_MSG_PERFORMANCE_TIME_S, on_missing=_SILENT).spec(),
    ),
]
