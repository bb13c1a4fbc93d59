"""Steps of the ISO 15118-20 over TLS 1.3 scenarios (interface 4), both roles.

The tester is the ISO 15118-20 tester (steps/iso15118_20.py) with the -20 TLS 1.3 contexts of
:mod:`harness.devices.v2g20_credentials` (the lab's -20 PKI, mutual authentication); every tester endpoint
writes its TLS keys beside the capture, so the handshake (version, suite, group, CertificateRequest,
certificates and CertificateVerify) and the -20 messages inside it are judged from the capture
(:mod:`harness.verdict.checks.iso15118_20_tls`).
"""

from __future__ import annotations

from dataclasses import replace

from pytest_bdd import given, parsers, then, when

from harness.codec.v2g.sdp import SECURITY_TLS
from harness.devices.v2g20_credentials import evcc_tls20, secc_tls20
from harness.scenario import ScenarioRun, required
from harness.verdict.checks import iso15118_2_tls as t
from harness.verdict.checks.common import DUT, TESTER, Fields, Present
from harness.verdict.checks.iso15118_20_tls import ISO20_TLS_01, iso20_tls_checks
from harness.verdict.verdicts import Verdict
from steps.iso15118_20 import iso20_setup, open_iso20_ev, open_iso20_secc

# The reference devices' service whose TLS is ISO 15118-20's TLS 1.3 (harness.devices.catalog); a DUT that
# is no reference device runs as it is configured (its PICS say it uses TLS).
TLS20_SERVICE = "v2g20-tls"
# The timeline's protocol label of decrypted -20 messages (harness.verdict.checks.iso15118_20).
ISO20 = "ISO-20"


def _expect_tls20(run: ScenarioRun, secc: str, evcc: str, port: int) -> None:
    """The -20 TLS checks of the session on ``port``.  What was negotiated (version, suite, group in the
    ServerHello) is the session both ends made, judged against the DUT; what only the tester did (its
    CertificateRequest or certificate, its signature) is the tester's precondition."""
    for check in iso20_tls_checks(secc, evcc, port):
        selector = check.check.spec()["select"]
        if selector.get("from") == TESTER and selector.get("message") != "ServerHello":
            run.expect(replace(check.check, precondition=True), f"tester: {check.description}")
        else:
            run.expect(check.check, check.description, check.requirement)


def _expect_inside(run: ScenarioRun, messages: tuple[str, ...], **port: int) -> None:
    """The DUT's first and last -20 messages went inside the TLS session on ``port`` (sport or dport)."""
    ((where, number),) = port.items()
    for message in messages:
        run.expect(
            Present(t.v2g_on_port(ISO20, message, DUT, **port), 1, 1),
            f"{message} from the DUT, decrypted from the TLS 1.3 session on port {number} ({where})",
            ISO20_TLS_01,
        )


# --- the tester as EV, the SECC under test ------------------------------------------------------------


@given("the SECC under test serves ISO 15118-20 over TLS")
def secc_serves_tls20(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut("secc", TLS20_SERVICE)


@given(
    parsers.parse("the tester is an ISO 15118-20 {service} EV asking for TLS that found the SECC with SDP")
)
def tester_is_tls20_ev(vgi_scenario: ScenarioRun, service: str) -> None:
    ev = iso20_setup(vgi_scenario)
    ev.ev_security = SECURITY_TLS
    ev.ev_tls = evcc_tls20(vgi_scenario.bench.settings, vgi_scenario.keylog_path)
    open_iso20_ev(vgi_scenario, service)


@then("the SECC granted TLS and ran an ISO 15118-20 TLS 1.3 session with mutual authentication")
def secc_tls20_session(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Fields(t.discovery("SECCDiscoveryRes", DUT), t.tls_granted(), on_missing=Verdict.FAIL),
        "SECCDiscoveryRes to a TLS request says Security TLS (0x00)",
        t.ISO2_TLS_SECC_01,
    )
    ev = required(vgi_scenario.din.ev, "ISO 15118-20 tester EV")
    discovered = required(ev.discovered, "SECCDiscoveryRes")
    _expect_tls20(vgi_scenario, DUT, TESTER, discovered.port)
    _expect_inside(vgi_scenario, ("SessionSetupRes", "SessionStopRes"), sport=discovered.port)


# --- the tester as SECC, the EVCC under test ------------------------------------------------------------


@given(parsers.parse("the tester is an ISO 15118-20 SECC offering {service} over TLS only on the link"))
def tester_is_tls20_secc(vgi_scenario: ScenarioRun, service: str) -> None:
    iso20_setup(vgi_scenario).secc_tls = secc_tls20(vgi_scenario.bench.settings, vgi_scenario.keylog_path)
    open_iso20_secc(vgi_scenario, service)


@when("the EVCC under test configured for ISO 15118-20 TLS is plugged in")
def evcc_tls20_plugged_in(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut("evcc", TLS20_SERVICE)


@then("the EVCC asked for TLS and ran an ISO 15118-20 TLS 1.3 session with mutual authentication")
def evcc_tls20_session(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Fields(t.discovery("SECCDiscoveryReq", DUT), t.tls_granted(), on_missing=Verdict.FAIL),
        "SECCDiscoveryReq from the EVCC says Security TLS (0x00)",
        t.ISO2_TLS_EVCC_01,
    )
    port = required(vgi_scenario.din.secc, "ISO 15118-20 tester SECC").port
    _expect_tls20(vgi_scenario, TESTER, DUT, port)
    _expect_inside(vgi_scenario, ("SessionSetupReq", "SessionStopReq"), dport=port)
