"""The machines' messages through the real EXI codec, and the reference SECC against josev's EVCC requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.devices.models.dc_charger import DcCharger
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.din70121.events import StopSession
from harness.protocol.din70121.faults import (
    emergency_shutdown,
    isolation_fault,
    response_code,
    stop_charging_request,
)
from harness.protocol.din70121.messages import DIN_NAMESPACE, body, message_name
from harness.protocol.din70121.secc import SeccConfig, SeccMachine


def schema_of(message: dict[str, Any]) -> str:
    return "din" if "V2G_Message" in message else "app"


@pytest.fixture(scope="module")
def exi_codec() -> Any:
    return pytest.importorskip(
        "harness.codec.v2g.exi_codec", reason="the EXI codec (issue 3) is not available"
    )


@pytest.mark.parametrize(
    "faults",
    [
        [],
        [response_code("CableCheckRes", "FAILED_SequenceError")],
        [stop_charging_request(5), isolation_fault(99)],
        [emergency_shutdown("PreChargeRes", 2)],
    ],
    ids=["full", "failed-response", "stop-charging", "emergency"],
)
def test_every_message_of_a_session_survives_encode_and_decode(
    make_session, exi_codec: Any, faults: list
) -> None:
    sim = make_session(secc_faults=faults)
    sim.run()
    messages = sim.messages()
    assert messages
    for entry in messages:
        schema = schema_of(entry.message)
        data = exi_codec.encode(schema, entry.message)
        assert data[0] == 0x80  # EXI header of V2G (REFERENCE.md section 6)
        assert exi_codec.decode(schema, data) == entry.message, entry.name


def josev_din_evcc_requests(exi_vectors_path: Path) -> list[dict[str, Any]]:
    """The distinct EVCC requests of josev's DIN DC capture, in capture order."""
    requests = []
    with exi_vectors_path.open() as lines:
        for line in lines:
            vector = json.loads(line)
            if "DIN_DC" not in vector["source"]:
                continue
            if vector["namespace"] not in (DIN_NAMESPACE, "urn:iso:15118:2:2010:AppProtocol"):
                continue
            if message_name(vector["decoded"]).endswith("Req"):
                requests.append(vector["decoded"])
    return requests


def test_reference_secc_serves_josevs_evcc(exi_vectors_path: Path) -> None:
    requests = josev_din_evcc_requests(exi_vectors_path)
    assert [message_name(r) for r in requests][:3] == [
        "supportedAppProtocolReq",
        "SessionSetupReq",
        "ServiceDiscoveryReq",
    ]
    # josev's SECC gave 8FA57FDE2BFAFE78, so the reference SECC hands out the same id to match the capture.
    secc = SeccMachine(DcCharger(), config=SeccConfig(session_id="8FA57FDE2BFAFE78"))
    now = 0.0
    secc.handle(LinkUp(), now)
    answers: list[dict[str, Any]] = []
    for request in requests:
        while True:
            now += 0.5
            actions = secc.handle(MessageReceived(request), now)
            sent = [a.message for a in actions if isinstance(a, Send)]
            assert len(sent) == 1, (message_name(request), actions)
            answers.append(sent[0])
            # As a real EV would, repeat while the EVSE is still processing.
            if body(sent[0]).get("EVSEProcessing") != "Ongoing":
                break
    codes = {message_name(a): body(a)["ResponseCode"] for a in answers}
    assert codes["supportedAppProtocolRes"] == "OK_SuccessfulNegotiation"
    assert codes["SessionSetupRes"] == "OK_NewSessionEstablished"
    assert all(
        code == "OK"
        for name, code in codes.items()
        if name not in ("supportedAppProtocolRes", "SessionSetupRes")
    )
    assert message_name(answers[-1]) == "SessionStopRes"
    assert isinstance(secc.result, StopSession) and secc.result.result == "COMPLETED"


@pytest.mark.parametrize("corruption", ["exi-header", "truncated-exi", "garbage"])
def test_malformed_payload_markers_do_not_decode(make_session, exi_codec: Any, corruption: str) -> None:
    from harness.protocol.din70121.faults import corrupt

    sim = make_session()
    sim.run(until=5.0)
    for entry in sim.messages():
        schema = schema_of(entry.message)
        good = exi_codec.encode(schema, entry.message)
        bad = corrupt(good, corruption)
        assert bad != good
        # DecodeError is a ValueError: the receiver sees a decode error, never a wrong message.
        with pytest.raises(ValueError):
            exi_codec.decode(schema, bad)


def test_unknown_corruption_is_rejected() -> None:
    from harness.protocol.din70121.faults import corrupt, malformed

    with pytest.raises(ValueError):
        corrupt(b"\x80", "bitrot")
    with pytest.raises(ValueError):
        malformed("CableCheckReq", corruption="bitrot")
