"""Steps for IEEE 2030.5 (J2836/1 AC charging) on interfaces 1, 3, 5, 6, 7, 8 and 9, both tester roles.

When-steps drive the tester; Then-steps register expectations over the decrypted timeline (HTTP and
TLS events from capture/tls_http.py).  Waiting for the DUT uses what the tester's server saw only to
know when to stop waiting; every verdict comes from the capture.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.codec.sep2.media import MEDIA_TYPE_SEP_XML
from harness.devices.sep2.common import DCAP_PATH, SEP2_PORT, SIM_DAY_START, SIM_POLL_RATE_S
from harness.devices.sep2.pfe import SIM_DR_DUTY_CYCLE
from harness.protocol.sep2.planner import ROW_S
from harness.scenario import ScenarioRun
from harness.testers.sep2 import EvseBridge, Sep2ClientTester, Sep2ServerTester
from harness.verdict.verdicts import Inconclusive

_DAY_S = 24 * ROW_S
# How long the tester watches a client DUT reach a milestone before judging (simulated lab: the
# whole 24-hour flow takes about 48 s of wall time; milestones come within a few seconds).
MILESTONE_TIMEOUT_S = 20.0
# RTP tariff of the simulated lab: the cheap window starts at 02:00 (harness.devices.sep2.pfe).
RTP_CHEAP_WINDOW_START_S = 2 * ROW_S
# CPP tariff of the simulated lab: the critical peak 17:00-20:00.
CPP_PEAK_START_S = 17 * ROW_S
# Bound on closing the tester's server (its connections are cancelled, each closes within 1 s).
SERVER_CLOSE_TIMEOUT_S = 30.0
# How many polls the polling-rate check needs to see.
POLLS_OBSERVED = 3
# The DR event the tester publishes: from now for 6 simulated hours.
DR_EVENT_DURATION_S = 6 * ROW_S


def _http(**selector: Any) -> dict[str, Any]:
    return {"protocol": "HTTP", **selector}


def _request(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return _http(message=f"{method} {path}", **extra)


def _server(run: ScenarioRun) -> Sep2ServerTester:
    return run.values["sep2_server"]


def _client(run: ScenarioRun) -> Sep2ClientTester:
    return run.values["sep2_client"]


# --- tester as server, DUT as client --------------------------------------------------------------


def _start_server(
    run: ScenarioRun, role: str, tariff: str = "tou", fault: str | None = None, bridged: bool = False
) -> None:
    tester = Sep2ServerTester(run.bench.link, run.bench.lab.config, run.keylog_path, role, fault, tariff)
    if bridged and run.bench.link.mode == "netns":
        # Interface 1: the EV reaches the BMS through the reference EVSE bridge (site namespace).
        bridge = EvseBridge(run.bench.link)
        run.cleanups.append(bridge.destroy)
        bridge.open_site()
        tester.bridge = bridge
    run.bench.run(tester.start(), 20)
    run.claim_port(SEP2_PORT)
    run.values["sep2_server"] = tester
    run.cleanups.append(lambda: run.bench.run(tester.close(), SERVER_CLOSE_TIMEOUT_S))


@given(
    parsers.parse(
        'the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "{tariff}" tariff'
    )
)
def tester_is_bridged_server(vgi_scenario: ScenarioRun, tariff: str) -> None:
    _start_server(vgi_scenario, "bms", tariff.lower(), bridged=True)


@given(parsers.parse('the tester is the IEEE 2030.5 {role} server publishing the "{tariff}" tariff'))
def tester_is_server(vgi_scenario: ScenarioRun, role: str, tariff: str) -> None:
    _start_server(vgi_scenario, {"PFE": "pfe-server", "BMS": "bms"}[role], tariff.lower())


@given(parsers.parse('the tester is the IEEE 2030.5 {role} server offering "{fault}"'))
def tester_is_bad_server(vgi_scenario: ScenarioRun, role: str, fault: str) -> None:
    _start_server(vgi_scenario, {"PFE": "pfe-server", "BMS": "bms"}[role], fault=fault)


@when(parsers.parse("the {role} under test starts"))
def client_dut_starts(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.values["dut_role"] = role
    vgi_scenario.start_dut(role, "sep2")


_MILESTONES = {
    "registered": lambda t, role: _read(t, t.device_path(role) + "/fsa"),
    "reserved": lambda t, role: len(t.posted("/frq")) >= 1 and len(t.posted("/ps")) >= 1,
    "re-planned": lambda t, role: len(t.posted("/rsp")) >= 1 and len(t.posted("/frq")) >= 2,
    "started charging": lambda t, role: any(_charging(ps) for ps in t.posted("/ps")),
    "mirrored its readings": lambda t, role: len(t.posted("/mup")) >= 1 and _readings(t) >= POLLS_OBSERVED,
}


def _read(tester: Sep2ServerTester, path: str) -> bool:
    assert tester.site is not None
    return ("GET", path) in tester.site.requests


def _charging(power_status: Any) -> bool:
    pev = getattr(power_status, "pevinfo", None)
    return pev is not None and pev.charging_power_now.value > 0


def _readings(tester: Sep2ServerTester) -> int:
    assert tester.site is not None
    return sum(1 for _lfdi, path, _res in tester.site.posted if path.startswith("/mup/"))


@when(parsers.parse("the tester waits until the {role} has {milestone}"))
def wait_for_milestone(vgi_scenario: ScenarioRun, role: str, milestone: str) -> None:
    tester = _server(vgi_scenario)
    predicate = _MILESTONES[milestone]
    reached = vgi_scenario.bench.run(
        tester.wait_for(lambda: predicate(tester, role), MILESTONE_TIMEOUT_S), MILESTONE_TIMEOUT_S + 5
    )
    if tester.connection_attempts() == 0:
        raise Inconclusive(f"the {role} under test never opened a TLS connection to the tester")
    vgi_scenario.values["milestone_reached"] = reached


@when(parsers.parse("the tester watches the {role} for {polls:d} poll periods"))
def watch_polls(vgi_scenario: ScenarioRun, role: str, polls: int) -> None:
    tester = _server(vgi_scenario)
    vgi_scenario.bench.run(tester.wait_for(lambda: False, polls * SIM_POLL_RATE_S + 0.5), polls + 10)
    if tester.connection_attempts() == 0:
        raise Inconclusive(f"the {role} under test never contacted the tester")


@when("the tester publishes a DR event limiting EV charging")
def publish_dr_event(vgi_scenario: ScenarioRun) -> None:
    tester = _server(vgi_scenario)
    assert tester.site is not None
    now = tester.clock.now()
    event = tester.site.add_dr_event(now - now % ROW_S, DR_EVENT_DURATION_S, SIM_DR_DUTY_CYCLE)
    vgi_scenario.values["dr_mrid"] = f"{((event.mrid << 32) | 32473):032X}"


def _dut_path(run: ScenarioRun, suffix: str) -> str:
    return f"{_server(run).device_path(run.values['dut_role'])}{suffix}"


@then(
    "the client discovers the server through DeviceCapability and reads its EndDevice, Registration "
    "and FunctionSetAssignments"
)
def client_discovers(vgi_scenario: ScenarioRun) -> None:
    base = _dut_path(vgi_scenario, "")
    pattern = [
        {"select": _request("GET", DCAP_PATH, **{"from": "dut"}), "min": 1, "max": 1},
        {"select": _request("GET", "/edev", **{"from": "dut"}), "min": 1, "max": None},
        {"select": _request("GET", f"{base}/rg", **{"from": "dut"}), "min": 1, "max": None},
        {"select": _request("GET", f"{base}/fsa", **{"from": "dut"}), "min": 1, "max": None},
    ]
    vgi_scenario.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "DeviceCapability first, then EndDevice list, Registration and FunctionSetAssignments",
        "SEP2-CLIENT-01",
    )


@then("every request body of the client is application/sep+xml and schema-valid")
def client_bodies_valid(vgi_scenario: ScenarioRun) -> None:
    writes = _http(**{"from": "dut", "where": {"method": {"in": ["POST", "PUT"]}}})
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": writes,
            "where": {"content_type": MEDIA_TYPE_SEP_XML, "schema_valid": True},
        },
        "every POST/PUT body of the client is application/sep+xml and valid against sep.xsd",
        "SEP2-CLIENT-02",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _http(**{"from": "dut", "error": True}), "min": 0, "max": 0},
        "no malformed body from the client",
        "SEP2-CLIENT-02",
    )


@then("the client polls Time no faster than the announced pollRate")
def client_poll_rate(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "interval",
            "select": _request("GET", "/tm", **{"from": "dut"}),
            "min_s": float(SIM_POLL_RATE_S),
            "tolerance_s": vgi_scenario.bench.lab.config.pixit.capture_jitter_s,
        },
        f"consecutive GET /tm at least pollRate ({SIM_POLL_RATE_S} s) apart",
        "SEP2-CLIENT-03",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _request("GET", "/tm", **{"from": "dut"}), "min": POLLS_OBSERVED},
        f"the client polls Time at least {POLLS_OBSERVED} times while watched",
        "SEP2-CLIENT-03",
    )


@then("the client reads the tariff, the DR program and the messages")
def client_reads_function_sets(vgi_scenario: ScenarioRun) -> None:
    for path, what in (
        ("/tp/1/rc/1/tti", "the 24-hour tariff"),
        ("/dr/1/edc", "the DR events"),
        ("/msg/1/txt", "the text messages"),
    ):
        vgi_scenario.expect(
            {"kind": "present", "select": _request("GET", path, **{"from": "dut"}), "min": 1},
            f"the client reads {what} ({path})",
            "SEP2-CLIENT-04",
        )


@then("the EV sends a FlowReservationRequest for the energy, power and window it needs")
def ev_flow_reservation(vgi_scenario: ScenarioRun) -> None:
    select = _request("POST", _dut_path(vgi_scenario, "/frq"), **{"from": "dut"})
    vgi_scenario.expect(
        {"kind": "present", "select": select, "min": 1}, "a FlowReservationRequest", "SEP2-EV-02"
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": select,
            "where": {
                "resource.energyRequested.value": {"range": [1, 10**7]},
                "resource.powerRequested.value": {"range": [1, 10**6]},
                "resource.intervalRequested.start": {"range": [SIM_DAY_START, SIM_DAY_START + 2 * _DAY_S]},
                "resource.intervalRequested.duration": {"range": [1, _DAY_S]},
                "resource.RequestStatus.requestStatus": 0,
            },
        },
        "the FlowReservationRequest states energy, power and a window inside the next 24 hours",
        "SEP2-EV-02",
    )


@then("the EV reports PEVInfo with the time charge is needed and its charging needs")
def ev_pev_info(vgi_scenario: ScenarioRun) -> None:
    select = _request("PUT", _dut_path(vgi_scenario, "/ps"), **{"from": "dut"})
    vgi_scenario.expect(
        {"kind": "present", "select": select, "min": 1}, "a PowerStatus with PEVInfo", "SEP2-EV-03"
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": select,
            "where": {
                "resource.PEVInfo.timeChargeIsNeeded": {"range": [SIM_DAY_START, SIM_DAY_START + 2 * _DAY_S]},
                "resource.PEVInfo.energyRequestNow.value": {"range": [1, 10**7]},
                "resource.PEVInfo.maxForwardPower.value": {"range": [1, 10**6]},
                "resource.PEVInfo.targetStateOfCharge": {"range": [1, 10000]},
            },
        },
        "PEVInfo carries TCIN, energy requested, maximum power and target state of charge",
        "SEP2-EV-03",
    )


@then("the EV acknowledges the DR event and re-plans with a new FlowReservationRequest")
def ev_acknowledges(vgi_scenario: ScenarioRun) -> None:
    mrid = vgi_scenario.values["dr_mrid"]
    ack = _request("POST", "/rsps/1/rsp", **{"from": "dut", "where": {"resource.subject": mrid}})
    vgi_scenario.expect(
        {"kind": "present", "select": ack, "min": 1, "max": 1},
        "exactly one DrResponse for the published event",
        "SEP2-EV-04",
    )
    vgi_scenario.expect(
        {"kind": "fields", "select": ack, "where": {"resource.status": 1}},
        "the DrResponse says event received (status 1)",
        "SEP2-EV-04",
    )
    frq = _request("POST", _dut_path(vgi_scenario, "/frq"), **{"from": "dut"})
    vgi_scenario.expect(
        {
            "kind": "sequence",
            "complete": False,
            "pattern": [
                {"select": frq, "min": 1, "max": None},
                {"select": ack, "min": 1, "max": 1},
                {"select": frq, "min": 1, "max": None},
            ],
        },
        "a new FlowReservationRequest after acknowledging the event (re-plan within the PIXIT window)",
        "SEP2-EV-05",
    )


@then("the EV starts charging no earlier than the cheap window it planned for")
def ev_starts_when_planned(vgi_scenario: ScenarioRun) -> None:
    charging = _request(
        "PUT",
        _dut_path(vgi_scenario, "/ps"),
        **{"from": "dut", "where": {"resource.PEVInfo.chargingPowerNow.value": {"range": [1, 10**6]}}},
    )
    vgi_scenario.expect(
        {"kind": "present", "select": charging, "min": 1}, "the EV starts charging", "SEP2-EV-06"
    )
    start = SIM_DAY_START + RTP_CHEAP_WINDOW_START_S
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": charging,
            "where": {"resource.PEVInfo.timeChargingStatusPEV": {"range": [start, SIM_DAY_START + _DAY_S]}},
        },
        "charging starts at or after the start of the cheap window (02:00 simulated)",
        "SEP2-EV-06",
    )


@then("the EV plans its charge outside the critical peak")
def ev_avoids_peak(vgi_scenario: ScenarioRun) -> None:
    select = _request("POST", _dut_path(vgi_scenario, "/frq"), **{"from": "dut"})
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": select,
            "where": {
                "resource.intervalRequested.start": {
                    "range": [SIM_DAY_START, SIM_DAY_START + CPP_PEAK_START_S - 1]
                }
            },
        },
        "the reservation starts before the critical peak (17:00 simulated)",
        "SEP2-EV-07",
    )


@then("the client refuses the TLS session and sends no HTTP")
def client_refuses_tls(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": {"protocol": "TLS", "message": "ClientHello", "from": "dut"},
            "min": 1,
            "on_missing": "INCONCLUSIVE",
        },
        "the client tried to connect",
        "SEP2-TLS-01",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _http(**{"from": "dut"}), "min": 0, "max": 0},
        "no HTTP request over a non-compliant TLS session",
        "SEP2-TLS-01",
    )


@then("the client offers only TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8")
def client_offers_sep2_suite(vgi_scenario: ScenarioRun) -> None:
    hello = {"protocol": "TLS", "message": "ClientHello", "from": "dut"}
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": hello,
            "where": {"offers_tls13": False, "ciphers": {"in": [[0xC0AE], [0xC0AE, 0xFF]]}},
        },
        "ClientHello offers TLS 1.2 and the one IEEE 2030.5 suite (0xC0AE)",
        "SEP2-TLS-02",
    )


@then("the meter creates a MirrorUsagePoint and posts readings no faster than the pollRate")
def meter_mirrors(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {"kind": "present", "select": _request("POST", "/mup", **{"from": "dut"}), "min": 1, "max": 1},
        "one MirrorUsagePoint created",
        "SEP2-METER-01",
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": _request("POST", "/mup", **{"from": "dut"}),
            "where": {"resource.serviceCategoryKind": 0, "resource.status": 1},
        },
        "the MirrorUsagePoint is an electricity usage point in service",
        "SEP2-METER-01",
    )
    readings = _http(**{"from": "dut", "where": {"method": "POST", "root": "MirrorMeterReading"}})
    vgi_scenario.expect(
        {"kind": "present", "select": readings, "min": POLLS_OBSERVED},
        f"at least {POLLS_OBSERVED} MirrorMeterReadings",
        "SEP2-METER-02",
    )
    vgi_scenario.expect(
        {
            "kind": "interval",
            "select": readings,
            "min_s": float(SIM_POLL_RATE_S),
            "tolerance_s": vgi_scenario.bench.lab.config.pixit.capture_jitter_s,
        },
        "readings posted no faster than the pollRate",
        "SEP2-METER-02",
    )


# --- tester as client, DUT as server --------------------------------------------------------------


@given(parsers.parse("the IEEE 2030.5 {role} under test is running"))
def server_dut_running(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.start_dut(role, "sep2")
    vgi_scenario.values["sep2_client"] = Sep2ClientTester(
        vgi_scenario.bench.link, vgi_scenario.bench.lab.config, vgi_scenario.keylog_path
    )


def _claim(run: ScenarioRun) -> None:
    for port in _client(run).local_ports:
        run.claim_port(port)


@when("the tester walks the resource tree from DeviceCapability")
def walk_tree(vgi_scenario: ScenarioRun) -> None:
    seen = vgi_scenario.bench.run(_client(vgi_scenario).walk(), 60)
    _claim(vgi_scenario)
    if not seen or not _client(vgi_scenario).responses:
        raise Inconclusive(
            "the server under test answered nothing: " + "; ".join(_client(vgi_scenario).refused)
        )


@when(parsers.parse("the tester sends {kind} to the server"))
def send_bad_body(vgi_scenario: ScenarioRun, kind: str) -> None:
    vgi_scenario.bench.run(_client(vgi_scenario).send_bad_body(kind, "/mup"), 60)
    _claim(vgi_scenario)


@when(parsers.parse('the tester connects offering "{fault}"'))
def connect_with_fault(vgi_scenario: ScenarioRun, fault: str) -> None:
    vgi_scenario.bench.run(_client(vgi_scenario).request("GET", DCAP_PATH, fault=fault), 30)
    _claim(vgi_scenario)


@then("every response is 200 application/sep+xml, schema-valid, and every link resolves")
def server_conformance(vgi_scenario: ScenarioRun) -> None:
    responses = _http(**{"from": "dut", "where": {"status": {"range": [100, 599]}}})
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": responses,
            "where": {"status": 200, "content_type": MEDIA_TYPE_SEP_XML, "schema_valid": True},
        },
        "every linked resource answers 200 with a schema-valid application/sep+xml body",
        "SEP2-SERVER-01",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _http(message="200 DeviceCapability", **{"from": "dut"}), "min": 1},
        "DeviceCapability is served",
        "SEP2-SERVER-01",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _http(**{"from": "dut", "error": True}), "min": 0, "max": 0},
        "no malformed body from the server",
        "SEP2-SERVER-01",
    )


@then(parsers.parse("the server exposes {resources}"))
def server_exposes(vgi_scenario: ScenarioRun, resources: str) -> None:
    for name in [n.strip() for n in resources.replace(" and ", ",").split(",") if n.strip()]:
        vgi_scenario.expect(
            {"kind": "present", "select": _http(message=f"200 {name}", **{"from": "dut"}), "min": 1},
            f"the server serves a {name}",
            "SEP2-SERVER-02",
        )


@then(parsers.parse("the server answers {status:d} and keeps serving"))
def server_answers_status(vgi_scenario: ScenarioRun, status: int) -> None:
    answer = _http(**{"from": "dut", "where": {"status": status}})
    served = _http(message="200 DeviceCapability", **{"from": "dut"})
    vgi_scenario.expect(
        {"kind": "present", "select": answer, "min": 1}, f"the server answers {status}", "SEP2-SERVER-03"
    )
    vgi_scenario.expect(
        {
            "kind": "sequence",
            "complete": False,
            "pattern": [{"select": answer, "min": 1, "max": 1}, {"select": served, "min": 1, "max": None}],
        },
        "after the bad request the server still serves DeviceCapability",
        "SEP2-SERVER-04",
    )


@then("the server refuses the TLS session and serves nothing")
def server_refuses_tls(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": {"protocol": "TLS", "message": "ClientHello", "from": "tester"},
            "min": 1,
            "on_missing": "INCONCLUSIVE",
        },
        "the tester offered the session",
        "SEP2-TLS-03",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _http(**{"from": "dut"}), "min": 0, "max": 0},
        "no HTTP response over the refused session",
        "SEP2-TLS-03",
    )
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": {
                "protocol": "TLS",
                "message": "ServerHello",
                "from": "dut",
                "where": {"version": "0x0304"},
            },
            "min": 0,
            "max": 0,
        },
        "the server never negotiates TLS 1.3",
        "SEP2-TLS-03",
    )


@then("the server negotiates TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8")
def server_negotiates(vgi_scenario: ScenarioRun) -> None:
    hello = {"protocol": "TLS", "message": "ServerHello", "from": "dut"}
    vgi_scenario.expect({"kind": "present", "select": hello, "min": 1}, "a ServerHello", "SEP2-TLS-04")
    vgi_scenario.expect(
        {"kind": "fields", "select": hello, "where": {"version": "0x0303", "cipher": 0xC0AE}},
        "every session is TLS 1.2 with 0xC0AE",
        "SEP2-TLS-04",
    )


@then("the server refuses the unregistered device with 403")
def server_refuses_unregistered(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {"kind": "present", "select": _http(**{"from": "dut", "where": {"status": 403}}), "min": 1},
        "403 Forbidden for an LFDI the server has not registered",
        "SEP2-SERVER-05",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": _http(**{"from": "dut", "where": {"status": 200}}), "min": 0, "max": 0},
        "no resource is served to the unregistered device",
        "SEP2-SERVER-05",
    )
