"""The reference -20 SECC answers the requests of a real -20 DC EV (josev's, from the shared sample
capture's EXI vectors) with OK all the way, and the reference EVCC reads that capture's SECC responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.codec.v2g import exi_codec
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.iso15118_20.messages import ServiceID, body, message_name, schema_of
from harness.protocol.iso15118_20.secc import SeccConfig, SeccMachine
from harness.protocol.iso15118_20.services import ControlMode, ParameterSet, parameter_sets

CAPTURE = "ISO-20_TLS13_DC_DS5366_Josev.pcapng"
CHARGER = ChargerParameters(isolation_check_duration_s=0.3, max_voltage_v=1000.0, max_current_a=500.0)


def _messages(vectors: Path) -> list[dict[str, Any]]:
    found = []
    with vectors.open() as lines:
        for line in lines:
            vector = json.loads(line)
            if vector["source"].endswith("/" + CAPTURE):
                found.append(vector["decoded"])
    assert found, CAPTURE
    return found


def test_reference_secc_answers_a_real_evs_iso20_dc_requests(exi_vectors_path: Path) -> None:
    captured = _messages(exi_vectors_path)
    requests = [m for m in captured if message_name(m).endswith("Req")]
    session = body(next(m for m in captured if message_name(m) == "SessionSetupRes"))["Header"]["SessionID"]
    # That EV selected DC parameter set 1 in dynamic control (its SECC's set 1 was dynamic).
    dynamic = {int(ServiceID.DC): (ParameterSet(1, control_mode=ControlMode.Dynamic),)}
    secc = SeccMachine(DcCharger(CHARGER), SeccConfig(session_id=session, parameter_sets=dynamic))
    now = 0.0
    secc.handle(LinkUp(), now)
    answered: list[str] = []
    previous = None
    for request in requests:
        name = message_name(request)
        if secc.result is not None:
            break
        if name == previous and name in ("DC_CableCheckReq", "DC_PreChargeReq"):
            continue  # repeats while that EVSE was still checking or ramping; ours gets its own turn below
        while True:
            now += 0.5
            actions = secc.handle(MessageReceived(request), now)
            response = next(a for a in actions if isinstance(a, Send)).message
            schema = schema_of(message_name(response))
            assert exi_codec.decode(schema, exi_codec.encode(schema, response)) == response
            answered.append(f"{message_name(response)}:{body(response).get('ResponseCode')}")
            if body(response).get("EVSEProcessing") != "Ongoing" and not (
                name == "DC_PreChargeReq" and abs(secc.charger.present_voltage_v - 460.0) > 20
            ):
                break
        previous = name
    assert all(entry.endswith(":OK") or "OK_" in entry for entry in answered), answered
    for expected in ("DC_ChargeLoopRes", "PowerDeliveryRes", "DC_WeldingDetectionRes", "SessionStopRes"):
        assert any(entry.startswith(expected) for entry in answered), expected


def test_the_captured_secc_parameter_sets_read_as_that_secc_offered_them(exi_vectors_path: Path) -> None:
    detail = next(m for m in _messages(exi_vectors_path) if message_name(m) == "ServiceDetailRes")
    sets = parameter_sets(body(detail))
    assert [(s.parameter_set_id, s.control_mode) for s in sets] == [(1, 2), (2, 1), (3, 2)]
    assert all(s.connector == 2 and not s.bidirectional and not s.problems() for s in sets)
