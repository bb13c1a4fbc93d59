"""A complete DIN SPEC 70121 DC session between the reference EVCC and SECC on a simulated clock."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from harness.protocol.din70121.events import StopRequested, StopResult
from harness.protocol.din70121.faults import out_of_sequence, wrong_session_id
from harness.protocol.din70121.messages import (
    DIN_NAMESPACE,
    TYPICAL_DC_SESSION_REQUESTS,
    body,
    message_name,
    to_float,
)
from harness.protocol.din70121.secc import SeccConfig

SESSION_ID = "8FA57FDE2BFAFE78"  # the conftest's SECC session id


def content(entry: Any) -> dict[str, Any]:
    return body(entry.message)


def test_full_session_follows_the_typical_din_dc_sequence(make_session) -> None:
    sim = make_session()
    sim.run()
    assert sim.requests_collapsed() == list(TYPICAL_DC_SESSION_REQUESTS)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert sim.stopped["SECC"].result is StopResult.COMPLETED
    # Every request got exactly its response, in order.
    names = sim.message_names()
    assert [n.removesuffix("Req") for n in names[0::2]] == [n.removesuffix("Res") for n in names[1::2]]
    assert all(note.ok for note in sim.notes()), [n.detail for n in sim.notes() if not n.ok]


def test_cable_check_and_precharge_repeat_until_finished(make_session) -> None:
    sim = make_session()
    sim.run()
    cable = [content(e) for e in sim.messages("SECC") if e.name == "CableCheckRes"]
    assert len(cable) > 1
    assert {c["EVSEProcessing"] for c in cable[:-1]} == {"Ongoing"}
    assert cable[-1]["EVSEProcessing"] == "Finished"
    assert cable[-1]["DC_EVSEStatus"]["EVSEIsolationStatus"] == "Valid"
    precharge = [
        to_float(content(e)["EVSEPresentVoltage"]) for e in sim.messages("SECC") if e.name == "PreChargeRes"
    ]
    assert len(precharge) > 1
    # The output ramps up towards the pack voltage and stops within the EV's tolerance of it.
    assert precharge == sorted(precharge)
    target = to_float(
        content(next(e for e in sim.messages("EVCC") if e.name == "PreChargeReq"))["EVTargetVoltage"]
    )
    assert abs(precharge[-1] - target) <= 20.0
    assert abs(precharge[0] - target) > 20.0


def test_current_demand_loops_until_target_soc(make_session) -> None:
    sim = make_session(soc=60.0)
    sim.run()
    requests = [content(e) for e in sim.messages("EVCC") if e.name == "CurrentDemandReq"]
    socs = [r["DC_EVStatus"]["EVRESSSOC"] for r in requests]
    assert len(requests) > 100
    assert socs[0] == 60
    assert socs == sorted(socs)
    assert socs[-1] == 80
    assert all(soc < 80 for soc in socs[:-1])
    assert sim.evcc.battery.soc >= 80.0
    # The request tapers: full current in bulk, less near the target.
    currents = [to_float(r["EVTargetCurrent"]) for r in requests]
    assert currents[0] == pytest.approx(125.0)  # limited by the EVSE's 125 A
    assert 0 < currents[-2] < currents[0] / 4
    # The charger follows: present current rises from 0 with a first-order ramp, never above the request.
    responses = [content(e) for e in sim.messages("SECC") if e.name == "CurrentDemandRes"]
    present = [to_float(r["EVSEPresentCurrent"]) for r in responses]
    assert present[0] == 0.0
    assert present[1] < present[2] < present[3] < 125.0
    assert max(present) <= 125.0 + 1e-6


def test_welding_detection_follows_power_delivery_stop(make_session) -> None:
    sim = make_session()
    sim.run()
    names = sim.message_names("EVCC")
    stop = max(i for i, n in enumerate(names) if n == "PowerDeliveryReq")
    assert content(sim.messages("EVCC")[stop])["ReadyToChargeState"] is False
    assert names[stop + 1] == "WeldingDetectionReq"
    assert set(names[stop + 1 : -1]) == {"WeldingDetectionReq"}
    assert names[-1] == "SessionStopReq"
    voltages = [
        to_float(content(e)["EVSEPresentVoltage"])
        for e in sim.messages("SECC")
        if e.name == "WeldingDetectionRes"
    ]
    assert voltages == sorted(voltages, reverse=True)
    assert voltages[-1] <= 20.0 < voltages[0]


def test_session_id_is_assigned_and_kept(make_session) -> None:
    sim = make_session()
    sim.run()
    messages = sim.messages()
    setup_req = next(e for e in messages if e.name == "SessionSetupReq")
    assert setup_req.message["V2G_Message"]["Header"]["SessionID"] == "00"
    setup_res = next(e for e in messages if e.name == "SessionSetupRes")
    assert content(setup_res)["ResponseCode"] == "OK_NewSessionEstablished"
    later = [e for e in messages if "V2G_Message" in e.message and e.name not in ("SessionSetupReq",)]
    assert {e.message["V2G_Message"]["Header"]["SessionID"] for e in later} == {SESSION_ID}


def test_resumed_session_is_joined(make_session) -> None:
    from harness.protocol.din70121.evcc import EvccConfig

    previous = "0102030405060708"
    sim = make_session(
        evcc_config=EvccConfig(resume_session_id=previous),
        secc_config=SeccConfig(session_id=SESSION_ID, previous_session_id=previous),
    )
    sim.run()
    setup_res = next(e for e in sim.messages() if e.name == "SessionSetupRes")
    assert content(setup_res)["ResponseCode"] == "OK_OldSessionJoined"
    assert setup_res.message["V2G_Message"]["Header"]["SessionID"] == previous
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED


def test_unknown_old_session_gets_a_new_one(make_session) -> None:
    from harness.protocol.din70121.evcc import EvccConfig

    sim = make_session(evcc_config=EvccConfig(resume_session_id="0102030405060708"))
    sim.run()
    setup_res = next(e for e in sim.messages() if e.name == "SessionSetupRes")
    assert content(setup_res)["ResponseCode"] == "OK_NewSessionEstablished"
    assert setup_res.message["V2G_Message"]["Header"]["SessionID"] == SESSION_ID
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED


def test_ongoing_authorization_and_charge_parameters_are_repeated(make_session) -> None:
    sim = make_session(
        secc_config=SeccConfig(
            session_id=SESSION_ID, authorization_ongoing_rounds=3, charge_parameter_ongoing_rounds=2
        )
    )
    sim.run()
    names = sim.message_names("EVCC")
    assert names.count("ContractAuthenticationReq") == 4
    assert names.count("ChargeParameterDiscoveryReq") == 3
    assert sim.requests_collapsed() == list(TYPICAL_DC_SESSION_REQUESTS)


def test_user_stop_during_current_demand_ends_with_the_normal_shutdown(make_session) -> None:
    sim = make_session()
    sim.inject("EVCC", StopRequested("driver pressed stop"), at=10.0)
    sim.run()
    assert sim.requests_collapsed() == list(TYPICAL_DC_SESSION_REQUESTS)
    assert sim.evcc.battery.soc < 80.0
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert sim.stopped["EVCC"].reason == "driver pressed stop"


def test_user_stop_before_energy_transfer_ends_with_session_stop(make_session) -> None:
    sim = make_session()
    sim.inject("EVCC", StopRequested("driver unplugged the idea"), at=1.0)
    sim.run()
    names = sim.message_names("EVCC")
    assert "CableCheckReq" in names
    assert "PreChargeReq" not in names and "PowerDeliveryReq" not in names
    assert names[-1] == "SessionStopReq"
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert sim.stopped["SECC"].result is StopResult.COMPLETED


def test_evse_initiated_stop_asks_the_ev_with_stop_charging(make_session) -> None:
    sim = make_session()
    sim.inject("SECC", StopRequested("operator stop"), at=10.0)
    sim.run()
    responses = [e for e in sim.messages("SECC") if e.name == "CurrentDemandRes"]
    notifications = [content(e)["DC_EVSEStatus"]["EVSENotification"] for e in responses]
    assert notifications[-1] == "StopCharging"
    assert set(notifications[:-1]) == {"None"}
    assert responses[-1].time >= 10.0 > responses[-2].time
    assert sim.requests_collapsed() == list(TYPICAL_DC_SESSION_REQUESTS)
    assert sim.stopped["EVCC"].result is StopResult.EVSE_SHUTDOWN
    assert sim.stopped["SECC"].result is StopResult.COMPLETED


def test_runs_are_deterministic(make_session) -> None:
    first = make_session()
    first.run()
    second = make_session()
    second.run()
    assert [(e.time, e.side, e.kind, e.name, e.message) for e in first.trace] == [
        (e.time, e.side, e.kind, e.name, e.message) for e in second.trace
    ]


# --- shapes against the decoded EXI vectors -------------------------------------------------------------


def key_paths(value: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            paths.add(f"{prefix}/{key}")
            paths |= key_paths(child, f"{prefix}/{key}")
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, f"{prefix}[]")
    return paths


@pytest.fixture(scope="module")
def vector_shapes(exi_vectors_path: Path) -> dict[str, set[frozenset[str]]]:
    shapes: dict[str, set[frozenset[str]]] = defaultdict(set)
    with exi_vectors_path.open() as lines:
        for line in lines:
            vector = json.loads(line)
            if vector["namespace"] not in (DIN_NAMESPACE, "urn:iso:15118:2:2010:AppProtocol"):
                continue
            decoded = vector["decoded"]
            shapes[message_name(decoded)].add(frozenset(key_paths(decoded)))
    return shapes


def assert_shapes(messages: list[Any], vector_shapes: dict[str, set[frozenset[str]]]) -> set[str]:
    seen: set[str] = set()
    for entry in messages:
        assert entry.name in vector_shapes, f"no decoded vector of {entry.name} to compare with"
        shape = frozenset(key_paths(entry.message))
        known = vector_shapes[entry.name]
        extra = shape - set.union(*map(set, known))
        missing = set.intersection(*map(set, known)) - shape
        assert shape in known, f"{entry.name} keys differ from the vectors: extra {extra}, missing {missing}"
        seen.add(entry.name)
    return seen


def test_every_message_has_the_shape_of_the_vectors(make_session, vector_shapes) -> None:
    sim = make_session(secc_config=SeccConfig(session_id=SESSION_ID, authorization_ongoing_rounds=1))
    sim.run()
    seen = assert_shapes(sim.messages(), vector_shapes)
    # The session produced every request and response type of a DIN DC session.
    assert len(seen) == 24


@pytest.mark.parametrize(
    "faults",
    [
        [out_of_sequence("ServiceDiscoveryReq", "CurrentDemandReq")],
        [out_of_sequence("CableCheckReq", "WeldingDetectionReq")],
        [wrong_session_id("PreChargeReq")],
        [out_of_sequence("CurrentDemandReq", "ChargeParameterDiscoveryReq", 3)],
    ],
)
def test_refusals_have_the_shape_of_the_vectors(make_session, vector_shapes, faults: list) -> None:
    # A FAILED response is still a complete response of its type, whatever state the SECC is in.
    sim = make_session(evcc_faults=faults)
    sim.run()
    refusal = sim.messages("SECC")[-1]
    assert content(refusal)["ResponseCode"].startswith("FAILED_")
    assert_shapes(sim.messages(), vector_shapes)
