"""Steps for IEEE 2030.5 (J2836/1 AC charging) clients under test (EV, EVSE, DC charger, telematics,
meter) on interfaces 1, 3, 5, 6, 7, 8 and 9: the tester is the PFE or BMS server.  Servers under test
are in steps/sep2_server_dut.py.

When-steps drive the tester; Then-steps register expectations over the decrypted timeline (HTTP and
TLS events from capture/tls_http.py).  Waiting for the DUT uses what the tester's server saw only to
know when to stop waiting; every verdict comes from the capture.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.codec.sep2.media import MEDIA_TYPE_SEP_XML
from harness.codec.sep2.values import mrid
from harness.devices.sep2.common import DCAP_PATH, SIM_DAY_START, SIM_POLL_RATE_S
from harness.devices.sep2.pfe import SIM_DR_DUTY_CYCLE
from harness.protocol.sep2.planner import ROW_S
from harness.scenario import ScenarioRun, required
from harness.verdict.checks import sep2 as s
from harness.verdict.checks.common import (
    DUT,
    Fields,
    Interval,
    Item,
    Present,
    absent,
    between,
    one_of,
    repeated,
    sequence,
)
from harness.verdict.verdicts import Inconclusive, Verdict
from steps.sep2_server import BENCH_MARGIN_S, server, start_server

_DAY_S = 24 * ROW_S
# How long the tester watches a client DUT reach a milestone before judging (simulated lab: the
# whole 24-hour flow takes about 48 s of wall time; milestones come within a few seconds).
MILESTONE_TIMEOUT_S = 20.0
# RTP tariff of the simulated lab: the cheap window starts at 02:00 (harness.devices.sep2.pfe).
RTP_CHEAP_WINDOW_START_S = 2 * ROW_S
# CPP tariff of the simulated lab: the critical peak 17:00-20:00.
CPP_PEAK_START_S = 17 * ROW_S
# How many polls the polling-rate check needs to see.
POLLS_OBSERVED = 3
# Extra watching after the last poll period, so the last poll is in the capture.
POLL_GRACE_S = 0.5
WATCH_MARGIN_S = 10.0
# The DR event the tester publishes: from now for 6 simulated hours.
DR_EVENT_DURATION_S = 6 * ROW_S
# Plausibility bounds of a PEV's charging figures (IEEE 2030.5 / J2836/1; Wh, W, hundredths of a %).
MAX_ENERGY_WH = 10**7
MAX_POWER_W = 10**6
MAX_SOC_HUNDREDTHS = 10000
# IEEE 2030.5 RequestStatus 0: the request is active; DrResponse status 1: event received.
REQUEST_STATUS_REQUESTED = 0
DR_RESPONSE_RECEIVED = 1
# IEEE 2030.5 MirrorUsagePoint: serviceCategoryKind 0 electricity, status 1 on.
SERVICE_CATEGORY_ELECTRICITY = 0
USAGE_POINT_ON = 1
_ROLES = {"PFE": "pfe-server", "BMS": "bms"}


# --- tester as server, DUT as client --------------------------------------------------------------
# Starting and reaching the tester's server is shared with the DER steps (steps/sep2_server.py).
_server = server
_start_server = start_server


@given(
    parsers.parse(
        'the tester is the IEEE 2030.5 BMS server behind an EVSE bridge publishing the "{tariff}" tariff'
    )
)
def tester_is_bridged_server(vgi_scenario: ScenarioRun, tariff: str) -> None:
    _start_server(vgi_scenario, "bms", tariff.lower(), bridged=True)


@given(parsers.parse('the tester is the IEEE 2030.5 {role} server publishing the "{tariff}" tariff'))
def tester_is_server(vgi_scenario: ScenarioRun, role: str, tariff: str) -> None:
    _start_server(vgi_scenario, _ROLES[role], tariff.lower())


@given(parsers.parse('the tester is the IEEE 2030.5 {role} server offering "{fault}"'))
def tester_is_bad_server(vgi_scenario: ScenarioRun, role: str, fault: str) -> None:
    _start_server(vgi_scenario, _ROLES[role], fault=fault)


@when(parsers.parse("the {role} under test starts"))
def client_dut_starts(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.sep2.dut_role = role
    vgi_scenario.start_dut(role, "sep2")


def _charging(power_status: Any) -> bool:
    pev = getattr(power_status, "pevinfo", None)
    return pev is not None and pev.charging_power_now.value > 0


_MILESTONES = {
    "registered": lambda t, role: t.has_read(t.device_path(role) + "/fsa"),
    "reserved": lambda t, role: len(t.posted("/frq")) >= 1 and len(t.posted("/ps")) >= 1,
    "re-planned": lambda t, role: len(t.posted("/rsp")) >= 1 and len(t.posted("/frq")) >= 2,
    "started charging": lambda t, role: any(_charging(ps) for ps in t.posted("/ps")),
    "mirrored its readings": lambda t, role: (
        len(t.posted("/mup")) >= 1 and t.posted_under("/mup/") >= POLLS_OBSERVED
    ),
}


@when(parsers.parse("the tester waits until the {role} has {milestone}"))
def wait_for_milestone(vgi_scenario: ScenarioRun, role: str, milestone: str) -> None:
    tester = _server(vgi_scenario)
    predicate = _MILESTONES[milestone]
    vgi_scenario.bench.run(
        tester.wait_for(lambda: predicate(tester, role), MILESTONE_TIMEOUT_S),
        MILESTONE_TIMEOUT_S + BENCH_MARGIN_S,
    )
    if tester.connection_attempts() == 0:
        why = (
            f" (the tester could not advertise by DNS-SD: {tester.advertise_error})"
            if tester.advertise_error
            else ""
        )
        raise Inconclusive(f"the {role} under test never opened a TLS connection to the tester{why}")


@when(parsers.parse("the tester watches the {role} for {polls:d} poll periods"))
def watch_polls(vgi_scenario: ScenarioRun, role: str, polls: int) -> None:
    tester = _server(vgi_scenario)
    watch_s = polls * SIM_POLL_RATE_S + POLL_GRACE_S
    vgi_scenario.bench.run(tester.wait_for(lambda: False, watch_s), polls + WATCH_MARGIN_S)
    if tester.connection_attempts() == 0:
        raise Inconclusive(f"the {role} under test never contacted the tester")


@when("the tester publishes a DR event limiting EV charging")
def publish_dr_event(vgi_scenario: ScenarioRun) -> None:
    tester = _server(vgi_scenario)
    assert tester.site is not None
    now = tester.clock.now()
    event = tester.site.add_dr_event(now - now % ROW_S, DR_EVENT_DURATION_S, SIM_DR_DUTY_CYCLE)
    vgi_scenario.sep2.dr_mrid = mrid(event.mrid).value.hex().upper()


def _dut_path(run: ScenarioRun, suffix: str) -> str:
    role = required(run.sep2.dut_role, "client under test (it has not started)")
    return f"{_server(run).device_path(role)}{suffix}"


def _get(path: str) -> Any:
    return s.request("GET", path, sender=DUT)


@then(
    "the client discovers the server through DeviceCapability and reads its EndDevice, Registration "
    "and FunctionSetAssignments"
)
def client_discovers(vgi_scenario: ScenarioRun) -> None:
    base = _dut_path(vgi_scenario, "")
    vgi_scenario.expect(
        sequence(
            Item(_get(DCAP_PATH), 1, 1),
            repeated(_get("/edev")),
            repeated(_get(f"{base}/rg")),
            repeated(_get(f"{base}/fsa")),
            complete=False,
        ),
        "DeviceCapability first, then EndDevice list, Registration and FunctionSetAssignments",
        s.SEP2_CLIENT_01,
    )


@then("every request body of the client is application/sep+xml and schema-valid")
def client_bodies_valid(vgi_scenario: ScenarioRun) -> None:
    writes = s.http(sender=DUT, where={"method": one_of(["POST", "PUT"])})
    vgi_scenario.expect(
        Fields(writes, {"content_type": MEDIA_TYPE_SEP_XML, "schema_valid": True}),
        "every POST/PUT body of the client is application/sep+xml and valid against sep.xsd",
        s.SEP2_CLIENT_02,
    )
    vgi_scenario.expect(
        absent(s.http(sender=DUT, error=True)), "no malformed body from the client", s.SEP2_CLIENT_02
    )


@then("the client polls Time no faster than the announced pollRate")
def client_poll_rate(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Interval(_get("/tm"), min_s=float(SIM_POLL_RATE_S), tolerance_s=vgi_scenario.capture_jitter_s),
        f"consecutive GET /tm at least pollRate ({SIM_POLL_RATE_S} s) apart",
        s.SEP2_CLIENT_03,
    )
    vgi_scenario.expect(
        Present(_get("/tm"), min=POLLS_OBSERVED),
        f"the client polls Time at least {POLLS_OBSERVED} times while watched",
        s.SEP2_CLIENT_03,
    )


@then("the client reads the tariff, the DR program and the messages")
def client_reads_function_sets(vgi_scenario: ScenarioRun) -> None:
    for path, what in (
        ("/tp/1/rc/1/tti", "the 24-hour tariff"),
        ("/dr/1/edc", "the DR events"),
        ("/msg/1/txt", "the text messages"),
    ):
        vgi_scenario.expect(Present(_get(path), min=1), f"the client reads {what} ({path})", s.SEP2_CLIENT_04)


_IN_TWO_DAYS = between(SIM_DAY_START, SIM_DAY_START + 2 * _DAY_S)


@then("the EV sends a FlowReservationRequest for the energy, power and window it needs")
def ev_flow_reservation(vgi_scenario: ScenarioRun) -> None:
    select = s.request("POST", _dut_path(vgi_scenario, "/frq"), sender=DUT)
    vgi_scenario.expect(Present(select, min=1), "a FlowReservationRequest", s.SEP2_EV_02)
    vgi_scenario.expect(
        Fields(
            select,
            {
                "resource.energyRequested.value": between(1, MAX_ENERGY_WH),
                "resource.powerRequested.value": between(1, MAX_POWER_W),
                "resource.intervalRequested.start": _IN_TWO_DAYS,
                "resource.intervalRequested.duration": between(1, _DAY_S),
                "resource.RequestStatus.requestStatus": REQUEST_STATUS_REQUESTED,
            },
        ),
        "the FlowReservationRequest states energy, power and a window inside the next 24 hours",
        s.SEP2_EV_02,
    )


@then("the EV reports PEVInfo with the time charge is needed and its charging needs")
def ev_pev_info(vgi_scenario: ScenarioRun) -> None:
    select = s.request("PUT", _dut_path(vgi_scenario, "/ps"), sender=DUT)
    vgi_scenario.expect(Present(select, min=1), "a PowerStatus with PEVInfo", s.SEP2_EV_03)
    vgi_scenario.expect(
        Fields(
            select,
            {
                "resource.PEVInfo.timeChargeIsNeeded": _IN_TWO_DAYS,
                "resource.PEVInfo.energyRequestNow.value": between(1, MAX_ENERGY_WH),
                "resource.PEVInfo.maxForwardPower.value": between(1, MAX_POWER_W),
                "resource.PEVInfo.targetStateOfCharge": between(1, MAX_SOC_HUNDREDTHS),
            },
        ),
        "PEVInfo carries TCIN, energy requested, maximum power and target state of charge",
        s.SEP2_EV_03,
    )


@then("the EV acknowledges the DR event and re-plans with a new FlowReservationRequest")
def ev_acknowledges(vgi_scenario: ScenarioRun) -> None:
    event = required(vgi_scenario.sep2.dr_mrid, "DR event published by the tester")
    ack = s.request("POST", "/rsps/1/rsp", sender=DUT, where={"resource.subject": event})
    vgi_scenario.expect(
        Present(ack, min=1, max=1), "exactly one DrResponse for the published event", s.SEP2_EV_04
    )
    vgi_scenario.expect(
        Fields(ack, {"resource.status": DR_RESPONSE_RECEIVED}),
        "the DrResponse says event received (status 1)",
        s.SEP2_EV_04,
    )
    frq = s.request("POST", _dut_path(vgi_scenario, "/frq"), sender=DUT)
    vgi_scenario.expect(
        sequence(repeated(frq), Item(ack, 1, 1), repeated(frq), complete=False),
        "a new FlowReservationRequest after acknowledging the event (re-plan within the PIXIT window)",
        s.SEP2_EV_05,
    )


@then("the EV starts charging no earlier than the cheap window it planned for")
def ev_starts_when_planned(vgi_scenario: ScenarioRun) -> None:
    charging = s.request(
        "PUT",
        _dut_path(vgi_scenario, "/ps"),
        sender=DUT,
        where={"resource.PEVInfo.chargingPowerNow.value": between(1, MAX_POWER_W)},
    )
    vgi_scenario.expect(Present(charging, min=1), "the EV starts charging", s.SEP2_EV_06)
    start = SIM_DAY_START + RTP_CHEAP_WINDOW_START_S
    vgi_scenario.expect(
        Fields(charging, {"resource.PEVInfo.timeChargingStatusPEV": between(start, SIM_DAY_START + _DAY_S)}),
        "charging starts at or after the start of the cheap window (02:00 simulated)",
        s.SEP2_EV_06,
    )


@then("the EV plans its charge outside the critical peak")
def ev_avoids_peak(vgi_scenario: ScenarioRun) -> None:
    select = s.request("POST", _dut_path(vgi_scenario, "/frq"), sender=DUT)
    vgi_scenario.expect(
        Fields(
            select,
            {
                "resource.intervalRequested.start": between(
                    SIM_DAY_START, SIM_DAY_START + CPP_PEAK_START_S - 1
                )
            },
        ),
        "the reservation starts before the critical peak (17:00 simulated)",
        s.SEP2_EV_07,
    )


@then("the client refuses the TLS session and sends no HTTP")
def client_refuses_tls(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(s.tls("ClientHello", DUT), min=1, on_missing=Verdict.INCONCLUSIVE),
        "the client tried to connect",
        s.SEP2_TLS_01,
    )
    vgi_scenario.expect(
        absent(s.http(sender=DUT)), "no HTTP request over a non-compliant TLS session", s.SEP2_TLS_01
    )


@then("the client offers only TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8")
def client_offers_sep2_suite(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Fields(
            s.tls("ClientHello", DUT),
            {
                "offers_tls13": False,
                "ciphers": one_of([[s.SEP2_CIPHER_SUITE], [s.SEP2_CIPHER_SUITE, s.RENEGOTIATION_SCSV]]),
            },
        ),
        "ClientHello offers TLS 1.2 and the one IEEE 2030.5 suite (0xC0AE)",
        s.SEP2_TLS_02,
    )


@then("the meter creates a MirrorUsagePoint and posts readings no faster than the pollRate")
def meter_mirrors(vgi_scenario: ScenarioRun) -> None:
    mup = s.request("POST", "/mup", sender=DUT)
    vgi_scenario.expect(Present(mup, min=1, max=1), "one MirrorUsagePoint created", s.SEP2_METER_01)
    vgi_scenario.expect(
        Fields(
            mup,
            {"resource.serviceCategoryKind": SERVICE_CATEGORY_ELECTRICITY, "resource.status": USAGE_POINT_ON},
        ),
        "the MirrorUsagePoint is an electricity usage point in service",
        s.SEP2_METER_01,
    )
    readings = s.http(sender=DUT, where={"method": "POST", "root": "MirrorMeterReading"})
    vgi_scenario.expect(
        Present(readings, min=POLLS_OBSERVED),
        f"at least {POLLS_OBSERVED} MirrorMeterReadings",
        s.SEP2_METER_02,
    )
    vgi_scenario.expect(
        Interval(readings, min_s=float(SIM_POLL_RATE_S), tolerance_s=vgi_scenario.capture_jitter_s),
        "readings posted no faster than the pollRate",
        s.SEP2_METER_02,
    )


@then("the client looks for its server by a DNS-SD query for the IEEE 2030.5 service before it connects")
def client_queries_dnssd(vgi_scenario: ScenarioRun) -> None:
    query = s.mdns("query", sender=DUT, where={"smartenergy": True})
    vgi_scenario.expect(
        Present(query, min=1),
        "an mDNS query from the client for _smartenergy._tcp.local. or one of its subtypes",
        s.SEP2_DISC_01,
    )
    vgi_scenario.expect(
        sequence(repeated(query), repeated(s.tls("ClientHello", DUT)), complete=False),
        "the DNS-SD query comes before the client's first TLS ClientHello",
        s.SEP2_DISC_01,
    )
