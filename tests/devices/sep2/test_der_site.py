"""The DER site on the reference server, called directly (no sockets), on a frozen simulated clock.

``SimClock(speedup=0)`` stands still at ``start``; a test moves time by changing ``start``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.schema import validate
from harness.devices.sep2.common import DER_SIM_SPEEDUP, SimClock
from harness.devices.sep2.der_site import (
    DER_POLL_RATE_S,
    J3072_DESCRIPTION,
    J3072_PROGRAM,
    MESSAGE_REPLY_TO,
    DerSite,
)
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.sep2.servers import PFE_DER_CONTROL, pfe_der_site
from harness.devices.settings import DeviceSettings
from harness.protocol.sep2 import der_convert
from harness.protocol.sep2.der_events import DerEngineConfig, DerEventEngine
from harness.protocol.sep2.der_model import EVENT_STATUS_COMPLETED, modes_bitmap
from harness.protocol.sep2.der_oracle import predict
from harness.protocol.sep2.j3072 import REFUSAL_PREFIX, RULE_DISCHARGE_WITHIN_SITE, Refused
from harness.testers.sep2 import SCHEMA_INVALID, Sep2ServerTester, _links
from harness.transport.http import HttpRequest, PeerInfo
from harness.transport.tls import NegotiatedTls

LFDI = "AB" * 20
OTHER = "CD" * 20
TLS = NegotiatedTls("TLSv1.2", "ECDHE-ECDSA-AES128-CCM8", 128)
SEP_XML = "application/sep+xml"
T0 = 1_767_225_600
DER = "/edev/1/der/1"


def _site(**kwargs: Any) -> tuple[Sep2Server, DerSite]:
    clock = SimClock(start=T0, speedup=0.0)
    der = DerSite(clock, **kwargs)
    return Sep2Server(clock, {LFDI: "ev"}, der=der), der


def _request(server: Sep2Server, method: str, target: str, body: bytes = b"", content_type: str = SEP_XML):
    headers = (("Content-Type", content_type),) if body else ()
    peer = PeerInfo(("::1", 1), TLS, LFDI, None)
    return asyncio.run(server.handle(HttpRequest(method, target, headers, body, peer=peer)))


def _get(server: Sep2Server, path: str, cls: type[Any]) -> Any:
    response = _request(server, "GET", path)
    assert response.status == 200, (path, response.status)
    assert validate(response.body) == [], path
    return r.parse_resource(response.body, cls)


def _capability(discharge_w: int = 7200, der_type: int = v.DER_TYPE_ELECTRIC_VEHICLE) -> Any:
    return r.DERCapability(
        modes_supported=sep.DercontrolType(
            value=modes_bitmap({"opModEnergize", "opModConnect", "opModFixedW", "opModMaxLimW"})
        ),
        rtg_max_w=v.active_power(11_000),
        rtg_max_discharge_rate_w=v.active_power(discharge_w),
        type_value=sep.Dertype(value=der_type),
    )


def _settings(discharge_w: int = 7200) -> Any:
    return r.DERSettings(
        set_grad_w=100,
        set_max_w=v.active_power(7200),
        set_max_discharge_rate_w=v.active_power(discharge_w),
        updated_time=v.sep_time(T0),
    )


def _status() -> Any:
    return r.DERStatus(
        reading_time=v.sep_time(T0),
        state_of_charge_status=sep.StateOfChargeStatusType(date_time=v.sep_time(T0), value=v.percent(6000)),
    )


def _availability() -> Any:
    return r.DERAvailability(reading_time=v.sep_time(T0), availability_duration=3600)


def _response(mrid: str, status: int) -> bytes:
    return r.serialise(
        r.DERControlResponse(
            created_date_time=v.sep_time(T0),
            end_device_lfdi=bytes.fromhex(LFDI),
            status=status,
            subject=sep.MRidtype(value=bytes.fromhex(mrid)),
        )
    )


def _control_list(server: Sep2Server, p: int) -> Any:
    return _get(server, f"/derp/{p}/derc", r.DERControlList)


# --- the resource tree ----------------------------------------------------------------------------------


def test_every_der_path_is_served_schema_valid_and_parses() -> None:
    server, der = _site()
    p = der.add_program(5, "utility", {"opModMaxLimW": 8000})
    curve = der.add_curve(p, 11, [(9500, 3000), (10500, -3000)], x_multiplier=-2)
    der.publish(p, start=T0 + 600, duration=600, modes={"opModFixedW": 5000, "opModVoltVar": curve})
    for path, resource in ((f"{DER}/dercap", _capability()), (f"{DER}/derg", _settings())):
        assert _request(server, "PUT", path, r.serialise(resource)).status == 204
    # List items carry their own href (not a *Link): start from them too.
    seen, queue = set(), ["/dcap", "/derp/1", f"/derp/{p}", f"/derp/{p}/derc/1", curve]
    while queue:
        path = queue.pop()
        if path in seen or path in (f"{DER}/ders", f"{DER}/dera"):
            continue
        seen.add(path)
        response = _request(server, "GET", path)
        assert response.status == 200, path
        assert validate(response.body) == [], path
        r.parse_any(response.body)  # strict: every element known, every value converts
        queue.extend(_links(response.body))
    expected = {
        "/derp",
        "/derp/1",
        "/derp/1/dderc",
        "/derp/1/derc",
        "/derp/1/dc",
        f"/derp/{p}/derc/1",
        curve,
        "/edev/1/der",
        f"{DER}/dercap",
        f"{DER}/derg",
    }
    assert expected <= seen


def test_fsa_and_end_device_link_the_der_function_set() -> None:
    server, der = _site()
    fsa = _get(server, "/edev/1/fsa", r.FunctionSetAssignmentsList).function_set_assignments[0]
    assert (fsa.derprogram_list_link.href, fsa.derprogram_list_link.all) == ("/derp", 1)
    assert fsa.tariff_profile_list_link.href == "/tp"  # the existing links stay
    device = _get(server, "/edev/1", r.EndDevice)
    assert device.derlist_link.href == "/edev/1/der"
    links = _get(server, "/edev/1/der", r.DERList).der[0]
    assert [links.dercapability_link.href, links.dersettings_link.href] == [f"{DER}/dercap", f"{DER}/derg"]
    assert [links.derstatus_link.href, links.deravailability_link.href] == [f"{DER}/ders", f"{DER}/dera"]


def test_without_der_the_server_serves_no_der_resource() -> None:
    server = Sep2Server(SimClock(start=T0, speedup=0.0), {LFDI: "ev"})
    fsa = _get(server, "/edev/1/fsa", r.FunctionSetAssignmentsList).function_set_assignments[0]
    assert fsa.derprogram_list_link is None
    assert _get(server, "/edev/1", r.EndDevice).derlist_link is None
    assert _request(server, "GET", "/derp").status == 404
    assert _request(server, "GET", "/edev/1/der").status == 404


def test_programs_are_listed_by_primacy_with_poll_rate_and_the_j3072_program_first() -> None:
    server, der = _site()
    low = der.add_program(200, "site")
    high = der.add_program(3, "utility")
    programs = _get(server, "/derp", r.DERProgramList)
    assert programs.poll_rate == DER_POLL_RATE_S
    assert [p.href for p in programs.derprogram] == ["/derp/1", f"/derp/{high}", f"/derp/{low}"]
    assert programs.derprogram[0].description == J3072_DESCRIPTION
    assert programs.derprogram[0].primacy.value == 0
    der.poll_rate = 600
    assert _get(server, "/derp", r.DERProgramList).poll_rate == 600
    with pytest.raises(ValueError):
        der.poll_rate = 0
    with pytest.raises(ValueError):
        der.add_program(256, "bad")


def test_lists_are_paged_by_the_query_string() -> None:
    server, der = _site()
    p = der.add_program(10, "utility")
    mrids = [
        der.publish(p, start=T0 + 600 * n, duration=300, modes={"opModFixedW": 100 * n}) for n in (1, 2, 3)
    ]
    page = _get(server, f"/derp/{p}/derc?s=1&l=1", r.DERControlList)
    assert (page.all, page.results) == (3, 1)
    assert [der_convert.mrid_text(c.m_rid) for c in page.dercontrol] == mrids[1:2]
    assert _get(server, f"/derp/{p}/derc?l=0", r.DERControlList).results == 0
    assert _get(server, f"/derp/{p}/derc?s=2", r.DERControlList).results == 1
    assert _get(server, f"/derp/{p}/derc", r.DERControlList).results == 3  # no query: the whole list
    programs = _get(server, "/derp?s=0&l=1", r.DERProgramList)
    assert (programs.all, programs.results, programs.derprogram[0].href) == (2, 1, "/derp/1")
    assert _request(server, "GET", "/derp?l=x").status == 400
    assert _request(server, "GET", "/derp?s=-1").status == 400


def test_defaults_are_served_from_plain_modes() -> None:
    server, der = _site()
    p = der.add_program(10, "utility", {"opModMaxLimW": 5000})
    default = _get(server, f"/derp/{p}/dderc", r.DefaultDERControl)
    assert der_convert.mode_values(default.dercontrol_base) == {"opModMaxLimW": 5000}
    der.set_default(p, {"opModFixedW": -2500, "opModConnect": True}, set_grad_w=50, ramp_tms=300)
    default = _get(server, f"/derp/{p}/dderc", r.DefaultDERControl)
    assert der_convert.mode_values(default.dercontrol_base) == {"opModFixedW": -2500, "opModConnect": True}
    assert (default.set_grad_w, default.dercontrol_base.ramp_tms) == (50, 300)
    with pytest.raises(ValueError, match="opModBogus"):
        der.set_default(p, {"opModBogus": 1})


def test_a_published_control_carries_the_contract_fields() -> None:
    server, der = _site()
    p = der.add_program(10, "utility")
    mrid = der.publish(
        p,
        start=T0 + 600,
        duration=1200,
        modes={"opModFixedW": 5000, "opModMaxLimW": 6000},
        randomize_start=120,
        randomize_duration=-60,
        description="evening discharge",
        creation_time=T0 - 10,
    )
    assert len(mrid) == 32 and mrid == mrid.upper()
    control = _get(server, f"/derp/{p}/derc/1", r.DERControl)
    assert der_convert.mrid_text(control.m_rid) == mrid
    assert (control.interval.start.value, control.interval.duration) == (T0 + 600, 1200)
    assert (control.randomize_start.value, control.randomize_duration.value) == (120, -60)
    assert control.reply_to == f"/rsps/{p}/rsp" and control.response_required == b"\x03"
    assert control.creation_time.value == T0 - 10 and control.description == "evening discharge"
    assert der_convert.mode_values(control.dercontrol_base) == {"opModFixedW": 5000, "opModMaxLimW": 6000}
    assert control.event_status.current_status == v.EventStatusCode.SCHEDULED
    with pytest.raises(ValueError):
        der.publish(p, start=T0, duration=60, modes={})
    with pytest.raises(ValueError, match="3600"):
        der.publish(p, start=T0, duration=60, modes={"opModFixedW": 1}, randomize_start=3601)
    with pytest.raises(ValueError, match="schema-valid"):  # String192
        der.publish(p, start=T0, duration=60, modes={"opModFixedW": 1}, description="x" * 193)
    assert _control_list(server, p).all == 1  # nothing refused was published


def test_event_status_follows_the_clock() -> None:
    server, der = _site()
    p = der.add_program(10, "utility")
    der.publish(p, start=T0 + 600, duration=600, modes={"opModFixedW": 5000}, randomize_duration=60)
    status = lambda: _control_list(server, p).dercontrol[0].event_status  # noqa: E731
    assert status().current_status == v.EventStatusCode.SCHEDULED
    der.clock.start = T0 + 600
    assert (status().current_status, status().date_time.value) == (v.EventStatusCode.ACTIVE, T0 + 600)
    der.clock.start = T0 + 1200  # the nominal end; randomizeDuration may stretch it by 60 s
    assert status().current_status == v.EventStatusCode.ACTIVE
    der.clock.start = T0 + 1260
    assert (status().current_status, status().date_time.value) == (EVENT_STATUS_COMPLETED, T0 + 1260)


def test_cancel_withdraw_and_supersede_change_what_is_served() -> None:
    server, der = _site()
    p = der.add_program(10, "utility")
    first = der.publish(p, start=T0 + 600, duration=600, modes={"opModFixedW": 5000})
    second = der.publish(p, start=T0 + 900, duration=600, modes={"opModFixedW": 3000})
    third = der.publish(p, start=T0 + 3600, duration=600, modes={"opModMaxLimW": 3000})
    listed = {der_convert.mrid_text(c.m_rid): c for c in _control_list(server, p).dercontrol}
    assert listed[first].event_status.potentially_superseded is True  # overlaps second on opModFixedW
    assert listed[third].event_status.potentially_superseded is False
    der.clock.start = T0 + 60
    der.cancel(first)
    der.cancel(second, randomized=True)
    der.supersede(third)
    listed = {der_convert.mrid_text(c.m_rid): c.event_status for c in _control_list(server, p).dercontrol}
    assert listed[first].current_status == v.EventStatusCode.CANCELLED
    assert listed[first].date_time.value == T0 + 60
    assert listed[second].current_status == v.EventStatusCode.CANCELLED_WITH_RANDOMIZATION
    assert listed[third].current_status == v.EventStatusCode.SUPERSEDED
    der.clock.start = T0 + 120
    der.cancel(first)  # again: nothing changes, the status keeps the time it changed
    assert _control_list(server, p).dercontrol[0].event_status.date_time.value == T0 + 60
    der.withdraw(second.lower())
    controls = _control_list(server, p)
    assert controls.all == 2 and second not in {der_convert.mrid_text(c.m_rid) for c in controls.dercontrol}
    assert _request(server, "GET", f"/derp/{p}/derc/2").status == 404
    with pytest.raises(KeyError):
        der.cancel(second)


# --- what clients write -----------------------------------------------------------------------------------


def test_der_resources_round_trip_through_put_and_get() -> None:
    server, der = _site()
    bodies = {
        "dercap": (_capability(), r.DERCapability),
        "derg": (_settings(), r.DERSettings),
        "ders": (_status(), r.DERStatus),
        "dera": (_availability(), r.DERAvailability),
    }
    for name, (resource, cls) in bodies.items():
        path = f"{DER}/{name}"
        assert _request(server, "GET", path).status == 404  # nothing before the first PUT
        assert _request(server, "PUT", path, r.serialise(resource)).status == 204
        assert _get(server, path, cls) == r.parse_resource(r.serialise(resource), cls)
        assert type(der.reports[path]) is cls
    assert [received.path.rsplit("/", 1)[-1] for received in der.puts] == list(bodies)
    # A re-PUT replaces what GET returns (no stale body is served).
    again = r.DERAvailability(reading_time=v.sep_time(T0 + 120), availability_duration=1800)
    assert _request(server, "PUT", f"{DER}/dera", r.serialise(again)).status == 204
    assert _get(server, f"{DER}/dera", r.DERAvailability).availability_duration == 1800
    assert all(received.lfdi == LFDI for received in der.puts)


def test_bad_der_writes_get_the_right_status() -> None:
    server, der = _site()
    body = r.serialise(_capability())
    assert _request(server, "PUT", f"{DER}/dercap", SCHEMA_INVALID).status == 400
    assert _request(server, "PUT", f"{DER}/dercap", r.serialise(_settings())).status == 400  # wrong type
    assert _request(server, "PUT", f"{DER}/dercap", body, content_type="application/json").status == 415
    assert _request(server, "POST", f"{DER}/dercap", body).status == 405
    assert _request(server, "PUT", "/derp/1", body).status == 405
    assert _request(server, "PUT", "/edev/1/der/1/other", body).status == 405
    assert der.reports == {} and der.puts == []


def test_control_responses_are_collected_at_reply_to() -> None:
    server, der = _site()
    p = der.add_program(10, "utility")
    mrid = der.publish(p, start=T0 + 600, duration=600, modes={"opModFixedW": 5000})
    response = _request(server, "POST", f"/rsps/{p}/rsp", _response(mrid, 1))
    assert response.status == 201 and response.header("Location").startswith(f"/rsps/{p}/rsp/")
    assert [(rx.path, der_convert.response_from_resource(rx.resource).status) for rx in der.responses] == [
        (f"/rsps/{p}/rsp", 1)
    ]
    assert _request(server, "POST", f"/rsps/{p}/rsp", SCHEMA_INVALID).status == 400
    assert _request(server, "POST", "/rsps/9/rsp", _response(mrid, 1)).status == 405  # no program 9
    assert len(der.responses) == 1


def test_program_1_reply_to_is_shared_with_dr_responses() -> None:
    server, der = _site()
    # A DERControlResponse to /rsps/1/rsp is the DER site's; a DrResponse there stays the DR program's.
    assert _request(server, "POST", "/rsps/1/rsp", _response("00" * 16, 1)).status == 201
    dr = r.DrResponse(
        created_date_time=v.sep_time(T0),
        end_device_lfdi=bytes.fromhex(LFDI),
        status=1,
        subject=sep.MRidtype(value=bytes(16)),
    )
    assert _request(server, "POST", "/rsps/1/rsp", r.serialise(dr)).status == 201
    assert len(der.responses) == 1
    assert [type(res) for _lfdi, path, res in server.posted if path == "/rsps/1/rsp"] == [r.DrResponse]


def test_text_messages_and_their_responses() -> None:
    server, der = _site()
    mrid = der.tell("A discharge event starts at 18:00")
    messages = _get(server, "/msg/1/txt", r.TextMessageList).text_message
    assert messages[0].text_message == "Welcome to the VGI lab"  # the server's own stay first
    ours = messages[-1]
    assert ours.text_message == "A discharge event starts at 18:00"
    assert (ours.reply_to, ours.response_required) == (MESSAGE_REPLY_TO, b"\x01")
    assert der_convert.mrid_text(ours.m_rid) == mrid
    assert _get(server, "/msg", r.MessagingProgramList).messaging_program[0].text_message_list_link.all == 2
    reply = r.TextResponse(
        created_date_time=v.sep_time(T0),
        end_device_lfdi=bytes.fromhex(LFDI),
        status=1,
        subject=sep.MRidtype(value=bytes.fromhex(mrid)),
    )
    assert _request(server, "POST", MESSAGE_REPLY_TO, r.serialise(reply)).status == 201
    assert len(der.text_responses) == 1 and der.text_responses[0].resource.status == 1


def test_readings_posted_to_mirrors_are_logged() -> None:
    server, der = _site()
    mirror = r.MirrorUsagePoint(
        m_rid=v.mrid(1),
        device_lfdi=bytes.fromhex(LFDI),
        role_flags=v.role_flags(v.ROLE_FLAG_IS_MIRROR_BIT, v.ROLE_FLAG_IS_PEV_BIT),
        service_category_kind=sep.ServiceKind(value=0),
        status=1,
    )
    assert _request(server, "POST", "/mup", r.serialise(mirror)).status == 201
    assert [(rx.path, type(rx.resource)) for rx in der.readings] == [("/mup", r.MirrorUsagePoint)]
    # IEEE 2030.5 metering mirror: one MirrorMeterReading, or several in a MirrorMeterReadingList (py20305
    # posts lists; the server answered 400 to them before).
    one = r.MirrorMeterReading(m_rid=v.mrid(2), reading=sep.Reading1(value=-3600))
    listed = r.MirrorMeterReadingList(mirror_meter_reading=[one, one], all=2, results=2)
    assert _request(server, "POST", "/mup/1", r.serialise(one)).status == 201
    assert _request(server, "POST", "/mup/1", r.serialise(listed)).status == 201
    assert [type(rx.resource) for rx in der.readings[1:]] == [r.MirrorMeterReading, r.MirrorMeterReadingList]
    assert _request(server, "POST", "/mup/1", r.serialise(mirror)).status == 400


def test_unreachable_window_answers_503_to_everything() -> None:
    server, der = _site()
    der.unreachable_until(T0 + 600)
    assert _request(server, "GET", "/tm").status == 503
    assert _request(server, "GET", "/derp").status == 503
    assert _request(server, "PUT", f"{DER}/ders", r.serialise(_status())).status == 503
    der.clock.start = T0 + 600
    assert _request(server, "GET", "/derp").status == 200


# --- J3072 ----------------------------------------------------------------------------------------------


def _energize(server: Sep2Server) -> dict[str, Any]:
    default = _get(server, f"/derp/{J3072_PROGRAM}/dderc", r.DefaultDERControl)
    return der_convert.mode_values(default.dercontrol_base)


def test_j3072_authorization_energizes_the_default() -> None:
    server, der = _site()
    assert _energize(server) == {"opModEnergize": False}
    _request(server, "PUT", f"{DER}/dercap", r.serialise(_capability()))
    assert not der.authorized(LFDI) and der.decision(LFDI) is None  # settings still missing
    _request(server, "PUT", f"{DER}/derg", r.serialise(_settings()))
    assert der.authorized(LFDI) and der.authorized(LFDI.lower()) and not der.authorized(OTHER)
    assert _energize(server) == {"opModEnergize": True, "opModConnect": True}
    assert der.messages == []


def test_j3072_refusal_keeps_energize_false_and_tells_the_user() -> None:
    server, der = _site(site_max_export_w=5000)
    _request(server, "PUT", f"{DER}/dercap", r.serialise(_capability()))
    _request(server, "PUT", f"{DER}/derg", r.serialise(_settings(discharge_w=6000)))
    decision = der.decision(LFDI)
    assert isinstance(decision, Refused) and decision.rule == RULE_DISCHARGE_WITHIN_SITE
    assert not der.authorized(LFDI)
    assert _energize(server) == {"opModEnergize": False}
    texts = [m.text_message for m in _get(server, "/msg/1/txt", r.TextMessageList).text_message]
    assert texts[-1].startswith(REFUSAL_PREFIX) and "5000 W" in texts[-1]
    _request(server, "PUT", f"{DER}/derg", r.serialise(_settings(discharge_w=6000)))
    assert len(der.messages) == 1  # the same decision is not announced twice
    _request(server, "PUT", f"{DER}/derg", r.serialise(_settings(discharge_w=4000)))
    assert der.authorized(LFDI) and _energize(server)["opModEnergize"] is True
    der.site_max_export_w = 3000  # the site's limit drops: judged again at once
    assert not der.authorized(LFDI) and _energize(server) == {"opModEnergize": False}
    assert len(der.messages) == 2 and "3000 W" in der.messages[-1].text


# --- what was published, for the oracle -------------------------------------------------------------------


def test_published_feeds_the_oracle_with_the_expected_windows() -> None:
    _server, der = _site()
    p = der.add_program(10, "utility", {"opModMaxLimW": 10000})
    start, duration = T0 + 1200, 600
    mrid = der.publish(p, start=start, duration=duration, modes={"opModFixedW": 5000})
    published = der.published()
    assert [at for at, _snapshot in published] == [T0, T0, T0]  # J3072 program, utility program, control
    snapshot = published[-1][1]
    assert [program.primacy for program in snapshot.programs] == [0, 10]
    assert [control.mrid for control in snapshot.controls] == [mrid]
    assert snapshot.controls[0].reply_to == f"/rsps/{p}/rsp"
    oracle = predict(published, until=start + duration + 600, poll_period=DER_POLL_RATE_S)
    expectation = oracle.expectations[mrid]
    assert expectation.required == {1, 2, 3}
    assert (oracle.window(mrid, 1).earliest, oracle.window(mrid, 1).latest) == (T0, T0 + DER_POLL_RATE_S)
    assert (oracle.window(mrid, 2).earliest, oracle.window(mrid, 2).latest) == (start, start)
    assert (oracle.window(mrid, 3).earliest, oracle.window(mrid, 3).latest) == (start + duration,) * 2


def test_a_cancellation_reaches_the_oracle() -> None:
    _server, der = _site()
    p = der.add_program(10, "utility")
    start = T0 + 1200
    mrid = der.publish(p, start=start, duration=600, modes={"opModFixedW": 5000})
    der.clock.start = T0 + 1500
    der.cancel(mrid)
    published = der.published()
    assert published[-1][0] == T0 + 1500
    assert published[-1][1].controls[0].current_status == v.EventStatusCode.CANCELLED
    oracle = predict(published, until=start + 1200, poll_period=DER_POLL_RATE_S)
    assert 6 in oracle.expectations[mrid].required and 3 not in oracle.expectations[mrid].allowed
    window = oracle.window(mrid, 6)
    assert (window.earliest, window.latest) == (T0 + 1500, T0 + 1500 + DER_POLL_RATE_S)


def test_a_client_engine_reads_the_served_tree_like_the_snapshot() -> None:
    server, der = _site()
    p = der.add_program(10, "utility", {"opModMaxLimW": 8000})
    der.publish(p, start=T0 + 600, duration=600, modes={"opModFixedW": 5000})
    # What a client builds from the wire equals what the site recorded for the oracle.
    programs = _get(server, "/derp", r.DERProgramList).derprogram
    wire_programs, wire_controls = [], []
    for program in programs:
        default = _get(server, program.default_dercontrol_link.href, r.DefaultDERControl)
        wire_programs.append(der_convert.program_from_resource(program, default))
        listed = _get(server, program.dercontrol_list_link.href, r.DERControlList)
        wire_controls += der_convert.controls_from_list(listed, der_convert.mrid_text(program.m_rid))
    snapshot = der.published()[-1][1]
    assert tuple(wire_programs) == snapshot.programs and tuple(wire_controls) == snapshot.controls
    engine = DerEventEngine(DerEngineConfig())
    engine.handle(snapshot, T0)
    assert engine.applied["opModMaxLimW"].value == 8000 and engine.applied["opModEnergize"].value is False


# --- the tester and the reference PFE ---------------------------------------------------------------------


def test_the_tester_builds_a_der_site_on_the_lab_clock() -> None:
    settings = DeviceSettings(sep2_clock_speedup=DER_SIM_SPEEDUP)
    tester = Sep2ServerTester(None, settings, None, der=True, site_max_export_w=5000)  # type: ignore[arg-type]
    assert isinstance(tester.der, DerSite)
    assert tester.der.clock.speedup == DER_SIM_SPEEDUP and tester.der.site_max_export_w == 5000
    assert tester.clock is tester.der.clock
    assert Sep2ServerTester(None, settings, None).der is None  # type: ignore[arg-type]


def test_the_reference_pfe_serves_programs_and_every_link_resolves() -> None:
    clock = SimClock(start=T0, speedup=0.0)
    server = Sep2Server(clock, {LFDI: "ev"}, der=pfe_der_site(clock))
    seen, queue = set(), ["/dcap"]
    while queue:
        path = queue.pop()
        if path not in seen:
            seen.add(path)
            response = _request(server, "GET", path)
            assert response.status == 200 and validate(response.body) == [], path
            queue.extend(_links(response.body))
    assert {"/derp", "/derp/2/derc", "/derp/2/dderc"} <= seen and "/edev/1/der" not in seen
    controls = _control_list(server, 2).dercontrol
    assert [der_convert.mode_values(c.dercontrol_base) for c in controls] == [PFE_DER_CONTROL]
