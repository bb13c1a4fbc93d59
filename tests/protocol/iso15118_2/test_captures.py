"""The reference SECC (ISO 15118-2 profile) answers the requests of real ISO 15118-2 DC EVs, taken from the
shared sample captures' EXI vectors, and the reference EVCC's requests have the keys those EVs send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.codec.v2g import exi_codec
from harness.devices.models.dc_charger import DcCharger
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.messages import app_protocol_entry, body, message_name, v2g_message
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.iso15118_2.profile import ISO2, ISO2_NAMESPACE

# DC sessions with external identification in the shared captures (dsV2Gshark's examples).
DC_EIM_CAPTURES = ("ISO-2_DC_DS5366.pcapng", "ISO-2_DC_Pause_DS5366.pcapng")


def _requests(vectors: Path, capture: str) -> tuple[str, list[dict[str, Any]]]:
    """The session id and the distinct ISO 15118-2 requests of ``capture``, in capture order."""
    session, requests = None, []
    with vectors.open() as lines:
        for line in lines:
            vector = json.loads(line)
            if not vector["source"].endswith("/" + capture) or vector["namespace"] != ISO2_NAMESPACE:
                continue
            message = vector["decoded"]
            session = session or message["V2G_Message"]["Header"]["SessionID"]
            if message_name(message).endswith("Req"):
                requests.append(message)
    assert session is not None and requests, capture
    return session, requests


@pytest.mark.parametrize("capture", DC_EIM_CAPTURES)
def test_reference_secc_answers_a_real_evs_iso2_requests(exi_vectors_path: Path, capture: str) -> None:
    session, requests = _requests(exi_vectors_path, capture)
    # The vectors are unique payloads: the capture's supportedAppProtocolReq and SessionSetupReq went in
    # under another capture's name, so the session starts with our own, as that EV would.
    opening = [
        {"supportedAppProtocolReq": {"AppProtocol": [app_protocol_entry(ISO2_NAMESPACE, 2, 0, 1, 1)]}},
        v2g_message("00", "SessionSetupReq", {"EVCCID": "020000000001"}),
    ]
    secc = SeccMachine(DcCharger(), SeccConfig(session_id=session), profiles=(ISO2,))
    now = 0.0
    secc.handle(LinkUp(), now)
    answers: list[dict[str, Any]] = []
    previous = None
    for request in opening + requests:
        if secc.result is not None:
            break
        if previous is not None and message_name(request) == message_name(previous[0]) and previous[1]:
            continue  # a repeat the EV made while its EVSE was processing; ours has finished already
        while True:
            now += 0.5
            sent = [a.message for a in secc.handle(MessageReceived(request), now) if isinstance(a, Send)]
            assert len(sent) == 1, (message_name(request), secc.result)
            answers.append(sent[0])
            processing = body(sent[0]).get("EVSEProcessing")
            previous = (request, processing == "Finished")
            if processing != "Ongoing":
                break
    for answer in answers:
        schema = "iso2" if "V2G_Message" in answer else "app"
        assert exi_codec.decode(schema, exi_codec.encode(schema, answer)) == answer
    codes = [(message_name(a), body(a)["ResponseCode"]) for a in answers]
    assert codes[0] == ("supportedAppProtocolRes", "OK_SuccessfulNegotiation")
    assert codes[1] == ("SessionSetupRes", "OK_NewSessionEstablished")
    assert all(code == "OK" for _, code in codes[2:]), codes
    assert message_name(answers[-1]) == "SessionStopRes"
    assert secc.result is not None and secc.result.result is StopResult.COMPLETED
    if "Pause" in capture:
        assert secc.paused
