"""Steps of the ISO 15118-2 over TLS scenarios (interface 4), both roles.

The tester is the ISO 15118-2 tester (steps/din70121_tester.py with the ISO 15118-2 profile) with TLS
contexts from the lab's ISO 15118-2 PKI (harness.devices.v2g_credentials) that write the scenario's key
log beside its capture; the checks read the SDP exchange, the TLS handshake and the decrypted V2G
messages from the capture (harness.verdict.checks.iso15118_2_tls).
"""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from harness.codec.v2g.sdp import SECURITY_TLS
from harness.devices.v2g_credentials import evcc_tls, secc_tls
from harness.pki.v2g import SECC, SECC_EXPIRED, SECC_UNTRUSTED
from harness.protocol.dc_profiles import ISO15118_2, dc_profile
from harness.scenario import ScenarioRun, required
from harness.verdict.checks import iso15118_2_tls as t
from harness.verdict.checks.common import DUT, TESTER, Fields, Present, absent
from harness.verdict.verdicts import Verdict
from steps.din70121_tester import charge, open_ev_and_discover, open_secc, setup

# The reference EVCC's service that asks for TLS in SDP (harness.devices.catalog); a DUT that is no
# reference device is plugged in as it is configured (its PICS say it uses TLS).
EVCC_TLS_SERVICE = "v2g-tls"
# Feature wording -> the tester SECC's credentials (harness.pki.v2g entries).
CHAINS = {
    "from an unknown root": SECC_UNTRUSTED,
    "with an expired SECC certificate": SECC_EXPIRED,
}


def _iso2(run: ScenarioRun) -> None:
    setup(run).profiles = (dc_profile(ISO15118_2, run.timer),)


def _granted_port(run: ScenarioRun) -> int:
    """The port the SECC under test announced for TLS (the tester EV's discovery)."""
    discovered = required(run.din.ev, "ISO 15118-2 tester EV").discovered
    return required(discovered, "SECCDiscoveryRes").port


def _tester_port(run: ScenarioRun) -> int:
    return required(run.din.secc, "ISO 15118-2 tester SECC").port


# --- the tester as EV, the SECC under test ------------------------------------------------------------


@given("the tester is an ISO 15118-2 EV asking for TLS that found the SECC with SDP")
def tester_is_tls_ev(vgi_scenario: ScenarioRun) -> None:
    _iso2(vgi_scenario)
    ev = setup(vgi_scenario)
    ev.ev_security = SECURITY_TLS
    ev.ev_tls = evcc_tls(vgi_scenario.bench.settings, vgi_scenario.keylog_path)
    open_ev_and_discover(vgi_scenario)


@when("the tester opens the granted connection in plain TCP and starts the session")
def plain_on_tls_port(vgi_scenario: ScenarioRun) -> None:
    setup(vgi_scenario).ev_tls = None  # plain TCP whatever the SECC granted, on purpose
    charge(vgi_scenario)


@then("the SECC granted TLS in its SECCDiscoveryRes")
def secc_granted_tls(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Fields(t.discovery("SECCDiscoveryRes", DUT), t.tls_granted(), on_missing=Verdict.FAIL),
        "SECCDiscoveryRes to a TLS request says Security TLS (0x00)",
        t.ISO2_TLS_SECC_01,
    )


@then("the SECC negotiated TLS 1.2 with an ISO 15118-2 cipher suite on the granted port")
def secc_negotiated(vgi_scenario: ScenarioRun) -> None:
    port = _granted_port(vgi_scenario)
    vgi_scenario.expect(
        Fields(t.server_hello(DUT, port), t.negotiated_iso2(), on_missing=Verdict.FAIL),
        f"ServerHello from the SECC on port {port}: TLS 1.2 (0x0303), cipher 0xC023 or 0xC025",
        t.ISO2_TLS_SECC_02,
    )


@then("the SECC carried the whole V2G session inside that TLS session")
def secc_session_in_tls(vgi_scenario: ScenarioRun) -> None:
    port = _granted_port(vgi_scenario)
    for protocol, message in (("AppProtocol", "supportedAppProtocolRes"), ("ISO-2", "SessionStopRes")):
        vgi_scenario.expect(
            Present(t.v2g_on_port(protocol, message, DUT, sport=port), 1, 1),
            f"{message} from the SECC, decrypted from the TLS session on port {port}",
            t.ISO2_TLS_SECC_02,
        )


@then("the SECC sends no V2G message in plain TCP on the TLS port")
def secc_refuses_plain(vgi_scenario: ScenarioRun) -> None:
    port = _granted_port(vgi_scenario)
    vgi_scenario.expect(
        Present(
            t.v2g_on_port("AppProtocol", "supportedAppProtocolReq", TESTER, dport=port),
            1,
            1,
            Verdict.INCONCLUSIVE,
            True,
        ),
        f"the tester's plain supportedAppProtocolReq went to the TLS port {port}",
        t.ISO2_TLS_SECC_03,
    )
    for protocol in t.V2G_PROTOCOLS:
        vgi_scenario.expect(
            absent(t.v2g_on_port(protocol, None, DUT, sport=port)),
            f"no {protocol} message from the SECC on the TLS port {port} in plain TCP",
            t.ISO2_TLS_SECC_03,
        )


# --- the tester as SECC, the EVCC under test ----------------------------------------------------------


@given("the tester is an ISO 15118-2 SECC offering only TLS on the link")
def tester_is_tls_secc(vgi_scenario: ScenarioRun) -> None:
    _open_tls_secc(vgi_scenario, SECC)


@given(parsers.parse("the tester is an ISO 15118-2 SECC offering only TLS with a certificate chain {chain}"))
def tester_is_bad_tls_secc(vgi_scenario: ScenarioRun, chain: str) -> None:
    if chain not in CHAINS:
        raise ValueError(f"unknown certificate chain {chain!r}; known: {sorted(CHAINS)}")
    _open_tls_secc(vgi_scenario, CHAINS[chain])


def _open_tls_secc(run: ScenarioRun, entry: str) -> None:
    _iso2(run)
    setup(run).secc_tls = secc_tls(run.bench.settings, run.keylog_path, entry)
    open_secc(run)


@when("the EVCC under test configured for TLS is plugged in")
def evcc_tls_plugged_in(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut("evcc", EVCC_TLS_SERVICE)


@then("the EVCC asked for TLS in its SECCDiscoveryReq")
def evcc_asked_tls(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Fields(t.discovery("SECCDiscoveryReq", DUT), t.tls_granted(), on_missing=Verdict.FAIL),
        "SECCDiscoveryReq from the EVCC says Security TLS (0x00)",
        t.ISO2_TLS_EVCC_01,
    )


@then("the EVCC opened a TLS 1.2 session with an ISO 15118-2 cipher suite on the granted port")
def evcc_negotiated(vgi_scenario: ScenarioRun) -> None:
    port = _tester_port(vgi_scenario)
    vgi_scenario.expect(
        Present(t.client_hello(DUT, port), 1, None, Verdict.FAIL),
        f"ClientHello from the EVCC to the granted port {port}",
        t.ISO2_TLS_EVCC_01,
    )
    vgi_scenario.expect(
        Fields(t.server_hello(TESTER, port), t.negotiated_iso2(), on_missing=Verdict.FAIL),
        "the session it offered came out TLS 1.2 (0x0303) with cipher 0xC023 or 0xC025",
        t.ISO2_TLS_EVCC_01,
    )


@then("the EVCC carried its V2G session inside that TLS session")
def evcc_session_in_tls(vgi_scenario: ScenarioRun) -> None:
    port = _tester_port(vgi_scenario)
    for protocol, message in (("AppProtocol", "supportedAppProtocolReq"), ("ISO-2", "SessionStopReq")):
        vgi_scenario.expect(
            Present(t.v2g_on_port(protocol, message, DUT, dport=port), 1, 1),
            f"{message} from the EVCC, decrypted from the TLS session to port {port}",
            t.ISO2_TLS_EVCC_01,
        )


@then(parsers.parse('the EVCC aborts the TLS handshake with alert "{name}"'))
def evcc_aborts(vgi_scenario: ScenarioRun, name: str) -> None:
    if name not in t.ALERT_NAMES:
        raise ValueError(f"unknown TLS alert {name!r}; known: {sorted(t.ALERT_NAMES)}")
    # RFC 5246 7.2.2: the precise alert is the client's choice among the certificate alerts; the one the
    # feature names is expected, bad_certificate accepted as well.
    alerts = tuple(dict.fromkeys((t.ALERT_NAMES[name], t.ALERT_BAD_CERTIFICATE)))
    vgi_scenario.expect(
        Present(t.alert(DUT, alerts), 1, None, Verdict.FAIL),
        f"a TLS alert {name} from the EVCC during the handshake",
        t.ISO2_TLS_EVCC_02,
    )
    for protocol in t.V2G_PROTOCOLS:
        vgi_scenario.expect(
            absent(t.v2g_on_port(protocol, None, DUT)),
            f"no {protocol} message from the EVCC",
            t.ISO2_TLS_EVCC_02,
        )
