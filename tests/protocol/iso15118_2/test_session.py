"""ISO 15118-2 DC sessions between the reference EVCC and SECC on a simulated clock, every message through
the real EXI codec (schema urn:iso:15118:2:2013:MsgDef), and supportedAppProtocol choosing between
DIN SPEC 70121 and ISO 15118-2 by the EVCC's priority."""

from __future__ import annotations

from typing import Any

import pytest

from harness.codec.v2g import exi_codec
from harness.devices.models.dc_charger import DcCharger
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.din70121.evcc import EvccConfig
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.faults import ev_error
from harness.protocol.din70121.messages import (
    TYPICAL_DC_SESSION_REQUESTS,
    app_protocol_entry,
    body,
    v2g_message,
)
from harness.protocol.din70121.profile import DIN
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.din70121.timing import NEXT_REQUEST_TIMER
from harness.protocol.iso15118_2.profile import ISO2, ISO2_NAMESPACE, ISO2_NO_EVSE_ID
from harness.protocol.iso15118_2.timing import Iso2Timings

SESSION_ID = "8FA57FDE2BFAFE78"  # the conftest's SECC session id
RESS_ERROR = "FAILED_RESSTemperatureInhibit"
# ISO 15118-2 DC with EIM, each repeated phase once: DIN SPEC 70121's typical session in ISO 15118-2 names.
ISO2_DC_SESSION = [ISO2.wire(name) for name in TYPICAL_DC_SESSION_REQUESTS]


def _schema(message: dict[str, Any], session_schema: str) -> str:
    return session_schema if "V2G_Message" in message else "app"


def _first(sim: Any, name: str) -> dict[str, Any]:
    return body(next(e.message for e in sim.messages() if e.name == name))


def test_full_iso2_session_every_message_through_the_codec(make_session) -> None:
    sim = make_session(evcc_profiles=(ISO2,), secc_profiles=(ISO2,))
    sim.run()
    assert sim.requests_collapsed() == ISO2_DC_SESSION
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped
    assert sim.stopped["SECC"].result is StopResult.COMPLETED, sim.stopped
    for entry in sim.messages():
        schema = _schema(entry.message, "iso2")
        assert exi_codec.decode(schema, exi_codec.encode(schema, entry.message)) == entry.message, entry.name
    # ISO 15118-2 shapes: the EVSEID string, the schedule tuple named in PowerDelivery and CurrentDemandRes.
    assert _first(sim, "SessionSetupRes")["EVSEID"] == ISO2_NO_EVSE_ID
    assert _first(sim, "PowerDeliveryReq") == {**_first(sim, "PowerDeliveryReq"), "ChargeProgress": "Start"}
    assert _first(sim, "PowerDeliveryReq")["SAScheduleTupleID"] == 1
    assert _first(sim, "CurrentDemandRes")["SAScheduleTupleID"] == 1
    assert _first(sim, "SessionStopReq") == {"ChargingSession": "Terminate"}
    # Every response within its ISO 15118-2 Table 109 performance time (notes of the EVCC's checks).
    notes = sim.notes("EVCC")
    assert notes and all(note.ok for note in notes), [n.detail for n in notes if not n.ok]
    assert any("ISO 15118-2 Table 109" in note.detail for note in notes)


@pytest.mark.parametrize(
    ("evcc", "secc", "namespace"),
    [
        ((ISO2, DIN), (DIN, ISO2), ISO2_NAMESPACE),
        ((DIN, ISO2), (ISO2, DIN), DIN.protocol.namespace),
        ((ISO2, DIN), (DIN,), DIN.protocol.namespace),
        ((ISO2,), (DIN, ISO2), ISO2_NAMESPACE),
    ],
    ids=["ev-prefers-iso2", "ev-prefers-din", "secc-din-only", "ev-iso2-only"],
)
def test_app_protocol_negotiation_follows_the_evs_priority(make_session, evcc, secc, namespace) -> None:
    sim = make_session(evcc_profiles=evcc, secc_profiles=secc)
    sim.run()
    request = _first(sim, "supportedAppProtocolReq")["AppProtocol"]
    assert [offer["Priority"] for offer in request] == list(range(1, len(evcc) + 1))
    chosen = _first(sim, "supportedAppProtocolRes")["SchemaID"]
    assert next(o["ProtocolNamespace"] for o in request if o["SchemaID"] == chosen) == namespace
    session_schema = "iso2" if namespace == ISO2_NAMESPACE else "din"
    expected = ISO2_DC_SESSION if session_schema == "iso2" else None
    if expected is not None:
        assert sim.requests_collapsed() == expected
    else:
        assert "ContractAuthenticationReq" in sim.requests_collapsed()
    for entry in sim.messages():
        exi_codec.encode(_schema(entry.message, session_schema), entry.message)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped


def test_no_common_protocol_fails_the_negotiation(make_session) -> None:
    sim = make_session(evcc_profiles=(ISO2,), secc_profiles=(DIN,))
    sim.run()
    assert _first(sim, "supportedAppProtocolRes")["ResponseCode"] == "Failed_NoNegotiation"
    assert sim.stopped["SECC"].result is StopResult.NEGOTIATION_FAILED
    assert "DIN SPEC 70121" in sim.stopped["SECC"].reason
    assert sim.stopped["EVCC"].result is StopResult.NEGOTIATION_FAILED


def test_pause_then_resume_joins_the_old_session(make_session) -> None:
    paused = make_session(evcc_profiles=(ISO2,), secc_profiles=(ISO2,), evcc_config=EvccConfig(pause=True))
    paused.run()
    assert _first(paused, "SessionStopReq") == {"ChargingSession": "Pause"}
    assert paused.secc.paused  # FaultyCore passes attribute look-ups to the machine
    resumed = make_session(
        evcc_profiles=(ISO2,),
        secc_profiles=(ISO2,),
        evcc_config=EvccConfig(resume_session_id=SESSION_ID),
        secc_config=SeccConfig(session_id="0102030405060708", previous_session_id=SESSION_ID),
    )
    resumed.run()
    setup = next(e.message for e in resumed.messages() if e.name == "SessionSetupRes")
    assert body(setup)["ResponseCode"] == "OK_OldSessionJoined"
    assert setup["V2G_Message"]["Header"]["SessionID"] == SESSION_ID
    assert resumed.stopped["EVCC"].result is StopResult.COMPLETED


def test_authorization_ongoing_past_the_iso2_ongoing_timeout_ends_the_session(make_session) -> None:
    # ISO 15118-2 Table 111: V2G_EVCC_Ongoing_Timeout bounds the EVSEProcessing=Ongoing answers.
    timings = Iso2Timings(evcc_ongoing_timeout_s=2.0)
    profile = type(ISO2)(timings)
    sim = make_session(
        evcc_profiles=(profile,),
        secc_profiles=(ISO2,),
        secc_config=SeccConfig(session_id=SESSION_ID, authorization_ongoing_rounds=100),
    )
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT
    assert "V2G_EVCC_Ongoing_Timeout (2 s, ISO 15118-2 Table 111)" in sim.stopped["EVCC"].reason
    standard = [t.name for t in sim.timers_fired("EVCC") if t.name != NEXT_REQUEST_TIMER]
    assert standard == ["V2G_EVCC_Ongoing_Timeout"]
    # A few Ongoing rounds within the limit do not: the timer is cancelled on Finished.
    short = make_session(
        evcc_profiles=(profile,),
        secc_profiles=(ISO2,),
        secc_config=SeccConfig(session_id=SESSION_ID, authorization_ongoing_rounds=3),
    )
    short.run()
    assert short.stopped["EVCC"].result is StopResult.COMPLETED


def test_a_din_request_name_in_an_iso2_session_is_refused() -> None:
    # ContractAuthenticationReq is DIN SPEC 70121's name; an ISO 15118-2 SECC has no such request.
    secc = SeccMachine(DcCharger(), SeccConfig(session_id=SESSION_ID), profiles=(ISO2,))
    secc.handle(LinkUp(), 0.0)
    offer = {"supportedAppProtocolReq": {"AppProtocol": [app_protocol_entry(ISO2_NAMESPACE, 2, 0, 1, 1)]}}
    secc.handle(MessageReceived(offer), 0.1)
    secc.handle(MessageReceived(v2g_message("00", "SessionSetupReq", {"EVCCID": "020000000001"})), 0.2)
    actions = secc.handle(MessageReceived(v2g_message(SESSION_ID, "ContractAuthenticationReq", {})), 0.3)
    assert secc.result is not None and secc.result.result is StopResult.SEQUENCE_ERROR
    assert "ContractAuthenticationReq is not a ISO 15118-2 request" in secc.result.reason
    assert not any(isinstance(a, Send) for a in actions)


def test_profile_names() -> None:
    assert ISO2.canonical("AuthorizationReq") == "ContractAuthenticationReq"
    assert ISO2.canonical("ContractAuthenticationReq") is None
    assert ISO2.canonical("ServiceDetailReq") == "ServiceDetailReq"
    assert DIN.canonical("ServiceDetailReq") is None
    assert DIN.canonical("ContractAuthenticationReq") == "ContractAuthenticationReq"
    assert ISO2.response_to("PaymentServiceSelectionReq") == "PaymentServiceSelectionRes"
    assert ISO2.wire("FAILED_WrongEnergyTransferType") == "FAILED_WrongEnergyTransferMode"


def test_ev_error_in_one_current_demand_request_is_encoded_and_answered(make_session) -> None:
    # The tester EV's "ev error" fault (TC_ISO2_SECC_011): only the n-th CurrentDemandReq says EVReady
    # false with the error code, it stays valid ISO 15118-2 EXI, and the reference SECC answers it.
    sim = make_session(
        evcc_profiles=(ISO2,),
        secc_profiles=(ISO2,),
        evcc_faults=[ev_error("CurrentDemandReq", 2, RESS_ERROR)],
    )
    sim.run()
    requests = [e.message for e in sim.messages("EVCC") if e.name == "CurrentDemandReq"]
    statuses = [body(message)["DC_EVStatus"] for message in requests]
    assert [(s["EVReady"], s["EVErrorCode"]) for s in statuses[:3]] == [
        (True, "NO_ERROR"),
        (False, RESS_ERROR),
        (True, "NO_ERROR"),
    ]
    assert exi_codec.decode("iso2", exi_codec.encode("iso2", requests[1])) == requests[1]
    assert [e.name for e in sim.messages("SECC")].count("CurrentDemandRes") == len(requests)
