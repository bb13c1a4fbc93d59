"""Steps for an IEEE 2030.5 server under test (PFE, BMS): the tester is the client.

When-steps drive the tester's client; Then-steps register expectations over the decrypted timeline
(HTTP and TLS events from capture/tls_http.py).
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.codec.sep2.media import MEDIA_TYPE_SEP_XML
from harness.devices.sep2.common import DCAP_PATH
from harness.scenario import ScenarioRun, required
from harness.testers.sep2 import Sep2ClientTester
from harness.verdict.checks import sep2 as s
from harness.verdict.checks.common import (
    DUT,
    TESTER,
    Fields,
    Item,
    Present,
    absent,
    between,
    prefix,
    repeated,
    sequence,
)
from harness.verdict.verdicts import Inconclusive, Verdict

# Bound on one client exchange of the tester (a resource-tree walk, a bad body, one TLS attempt).
CLIENT_WALK_TIMEOUT_S = 60.0
CLIENT_REQUEST_TIMEOUT_S = 30.0
# How long the tester browses for the server DUT's DNS-SD advertisement (mDNS answers come within
# about a second, RFC 6762 clause 6; the rest is margin).
DNSSD_BROWSE_S = 5.0
# TCP/UDP port range (an SRV port or the TXT https key).
PORT_RANGE = between(1, 65535)


def _client(run: ScenarioRun) -> Sep2ClientTester:
    return required(run.sep2.client, "IEEE 2030.5 tester client")


@given(parsers.parse("the IEEE 2030.5 {role} under test is running"))
def server_dut_running(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.start_dut(role, "sep2")
    vgi_scenario.sep2.client = Sep2ClientTester(
        vgi_scenario.bench.link, vgi_scenario.bench.settings, vgi_scenario.keylog_path
    )


def _claim(run: ScenarioRun) -> None:
    for port in _client(run).local_ports:
        run.claim_port(port)


@when("the tester walks the resource tree from DeviceCapability")
def walk_tree(vgi_scenario: ScenarioRun) -> None:
    client = _client(vgi_scenario)
    seen = vgi_scenario.bench.run(client.walk(), CLIENT_WALK_TIMEOUT_S)
    _claim(vgi_scenario)
    if not seen or not client.responses:
        raise Inconclusive("the server under test answered nothing: " + "; ".join(client.refused))


@when(parsers.parse("the tester sends {kind} to the server"))
def send_bad_body(vgi_scenario: ScenarioRun, kind: str) -> None:
    vgi_scenario.bench.run(_client(vgi_scenario).send_bad_body(kind, "/mup"), CLIENT_WALK_TIMEOUT_S)
    _claim(vgi_scenario)


@when(parsers.parse('the tester connects offering "{fault}"'))
def connect_with_fault(vgi_scenario: ScenarioRun, fault: str) -> None:
    vgi_scenario.bench.run(
        _client(vgi_scenario).request("GET", DCAP_PATH, fault=fault), CLIENT_REQUEST_TIMEOUT_S
    )
    _claim(vgi_scenario)


def _served(resource: str) -> Any:
    return s.http(f"{s.HTTP_OK} {resource}", sender=DUT)


@then("every response is 200 application/sep+xml, schema-valid, and every link resolves")
def server_conformance(vgi_scenario: ScenarioRun) -> None:
    responses = s.http(sender=DUT, where={"status": s.HTTP_STATUS_RANGE})
    vgi_scenario.expect(
        Fields(responses, {"status": s.HTTP_OK, "content_type": MEDIA_TYPE_SEP_XML, "schema_valid": True}),
        "every linked resource answers 200 with a schema-valid application/sep+xml body",
        s.SEP2_SERVER_01,
    )
    vgi_scenario.expect(
        Present(_served("DeviceCapability"), min=1), "DeviceCapability is served", s.SEP2_SERVER_01
    )
    vgi_scenario.expect(
        absent(s.http(sender=DUT, error=True)), "no malformed body from the server", s.SEP2_SERVER_01
    )


@then(parsers.parse("the server exposes {resources}"))
def server_exposes(vgi_scenario: ScenarioRun, resources: str) -> None:
    for name in [n.strip() for n in resources.replace(" and ", ",").split(",") if n.strip()]:
        vgi_scenario.expect(Present(_served(name), min=1), f"the server serves a {name}", s.SEP2_SERVER_02)


@then(parsers.parse("the server answers {status:d} and keeps serving"))
def server_answers_status(vgi_scenario: ScenarioRun, status: int) -> None:
    answer = s.http(sender=DUT, where={"status": status})
    vgi_scenario.expect(Present(answer, min=1), f"the server answers {status}", s.SEP2_SERVER_03)
    vgi_scenario.expect(
        sequence(Item(answer, 1, 1), repeated(_served("DeviceCapability")), complete=False),
        "after the bad request the server still serves DeviceCapability",
        s.SEP2_SERVER_04,
    )


@then("the server refuses the TLS session and serves nothing")
def server_refuses_tls(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(s.tls("ClientHello", TESTER), min=1, on_missing=Verdict.INCONCLUSIVE),
        "the tester offered the session",
        s.SEP2_TLS_03,
    )
    vgi_scenario.expect(
        absent(s.http(sender=DUT)), "no HTTP response over the refused session", s.SEP2_TLS_03
    )
    vgi_scenario.expect(
        absent(s.tls("ServerHello", DUT, version=s.TLS_1_3)),
        "the server never negotiates TLS 1.3",
        s.SEP2_TLS_03,
    )


@then("the server negotiates TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8")
def server_negotiates(vgi_scenario: ScenarioRun) -> None:
    hello = s.tls("ServerHello", DUT)
    vgi_scenario.expect(Present(hello, min=1), "a ServerHello", s.SEP2_TLS_04)
    vgi_scenario.expect(
        Fields(hello, {"version": s.TLS_1_2, "cipher": s.SEP2_CIPHER_SUITE}),
        "every session is TLS 1.2 with 0xC0AE",
        s.SEP2_TLS_04,
    )


@then("the server refuses the unregistered device with 403")
def server_refuses_unregistered(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(s.http(sender=DUT, where={"status": s.HTTP_FORBIDDEN}), min=1),
        "403 Forbidden for an LFDI the server has not registered",
        s.SEP2_SERVER_05,
    )
    vgi_scenario.expect(
        absent(s.http(sender=DUT, where={"status": s.HTTP_OK})),
        "no resource is served to the unregistered device",
        s.SEP2_SERVER_05,
    )


@when("the tester browses DNS-SD for IEEE 2030.5 servers")
def browse_dnssd(vgi_scenario: ScenarioRun) -> None:
    client = _client(vgi_scenario)
    vgi_scenario.bench.run(
        client.browse_advertisements(DNSSD_BROWSE_S), DNSSD_BROWSE_S + CLIENT_REQUEST_TIMEOUT_S
    )
    if any(reason.startswith("DNS-SD:") for reason in client.refused):
        raise Inconclusive("the tester could not browse by DNS-SD: " + "; ".join(client.refused))


@then(
    "the server advertises _smartenergy._tcp with its port and a TXT record starting with txtvers "
    "that names dcap and https"
)
def server_advertises(vgi_scenario: ScenarioRun) -> None:
    answer = s.mdns("response", sender=DUT, where={"smartenergy": True, "srv_port": PORT_RANGE})
    vgi_scenario.expect(
        Present(answer, min=1),
        "an mDNS answer from the server naming a _smartenergy._tcp instance",
        s.SEP2_DISC_02,
    )
    vgi_scenario.expect(
        Fields(answer, {"txt_first": "txtvers", "txt_dcap": prefix("/"), "txt_https": PORT_RANGE}),
        "the TXT record starts with txtvers, dcap is an absolute path and https a port",
        s.SEP2_DISC_02,
    )
