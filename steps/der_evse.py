"""Steps for the EVSE under test as SAE J3072 authorizer of an EV's on-board inverter (interface 5): the
tester plays the EV inverter, a DER client of the EVSE's IEEE 2030.5 server (REFERENCE-DER.md section 2:
that the EVSE is the server and authorizes by DefaultDERControl opModEnergize is [unverified]; the rules
are the harness's, :mod:`harness.protocol.sep2.j3072`).  It declares compliant or non-compliant settings
through its inverter model and the Then steps judge the EVSE's decision from the decrypted capture.
"""

from __future__ import annotations

from dataclasses import replace

from pytest_bdd import given, parsers, then, when

from harness.devices.models.inverter import Inverter, InverterRatings, InverterSettings
from harness.protocol.sep2 import j3072
from harness.scenario import ScenarioRun
from harness.testers.sep2 import Sep2ClientTester
from harness.verdict.checks import der_server as ds
from harness.verdict.checks.der import J3072_PROGRAM_HREF
from harness.verdict.verdicts import Inconclusive, Verdict
from steps.der_server_dut import DER_SERVICE, FOLLOW_TIMEOUT_S, start_der_client, wait_client

EVSE_ROLE = "evse"
# Non-compliant declarations (harness choices against the harness rules of harness.protocol.sep2.j3072):
# setMaxW 1 kW above the inverter's own rtgMaxW (RULE_MAX_W_WITHIN_RATING), and an inverter rated and set
# to discharge at 1.5 times the site's default export limit (RULE_DISCHARGE_WITHIN_SITE).
SET_MAX_W_OVER_RATING_W = 1000
OVER_SITE_FACTOR = 1.5
# The look at the EVSE's resource tree before declaring: every resource the walk reaches, up to this many
# (harness choice: well above the reference EVSE's tree, which the J3072 default is part of), and its
# wall-clock bound.
WALK_LIMIT = 400
WALK_TIMEOUT_S = 60.0


def _over_rating() -> Inverter:
    ratings = InverterRatings()
    return Inverter(settings=replace(InverterSettings(), max_w=ratings.max_w + SET_MAX_W_OVER_RATING_W))


def _over_site() -> Inverter:
    watts = int(j3072.DEFAULT_SITE_MAX_EXPORT_W * OVER_SITE_FACTOR)
    ratings = replace(InverterRatings(), max_w=watts, max_discharge_rate_w=watts)
    settings = replace(InverterSettings(), max_w=watts, max_discharge_rate_w=watts)
    return Inverter(ratings=ratings, settings=settings)


_DECLARATIONS = {
    "compliant settings": Inverter,
    "a setMaxW above its own rtgMaxW": _over_rating,
    "a discharge rate above the site's export limit": _over_site,
}


@given("the EVSE under test authorizes EV inverters for its site")
def evse_running(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut(EVSE_ROLE, DER_SERVICE)


@when(
    parsers.parse(
        "the tester, as the EV's inverter, declares {declaration} and follows the EVSE's DER programs"
    )
)
def declare(vgi_scenario: ScenarioRun, declaration: str) -> None:
    build = _DECLARATIONS.get(declaration)
    if build is None:
        raise ValueError(f"unknown declaration {declaration!r}; known: {sorted(_DECLARATIONS)}")
    run = vgi_scenario
    # First look, as any client may, at what the EVSE serves before the inverter declares anything.
    walker = Sep2ClientTester(run.bench.link, run.bench.settings, run.keylog_path)
    run.bench.run(walker.walk(WALK_LIMIT), WALK_TIMEOUT_S)
    for port in walker.local_ports:
        run.claim_port(port)
    tester = start_der_client(run, build())

    def decided() -> bool:
        # Authorized (opModEnergize true in effect), or the messages read after registering (the client
        # reads them after its first poll, which follows its DERCapability/DERSettings PUTs: a refusal
        # published when they were checked is among them).
        return tester.der.inverter.authorized or bool(tester.der.answered_messages)

    if not wait_client(run, decided, FOLLOW_TIMEOUT_S):
        raise Inconclusive(
            f"the EVSE neither authorized nor refused the inverter within {FOLLOW_TIMEOUT_S:g} s"
        )
    wait_client(run, tester.settled, FOLLOW_TIMEOUT_S)


@then("the EVSE does not authorize the inverter before checking its settings, and authorizes it after")
def authorized(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ds.DerAuthorization(
            J3072_PROGRAM_HREF, ds.AUTHORIZED, j3072.REFUSAL_PREFIX, on_missing=Verdict.INCONCLUSIVE
        ),
        "the J3072 program's default keeps opModEnergize false until the inverter's DERCapability and "
        "DERSettings, then true",
        ds.DER_EVSE_01,
    )


@then("the EVSE refuses the inverter with a reason and never authorizes it")
def refused(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ds.DerAuthorization(
            J3072_PROGRAM_HREF, ds.REFUSED, j3072.REFUSAL_PREFIX, on_missing=Verdict.INCONCLUSIVE
        ),
        "the J3072 program's default never carries opModEnergize true and a TextMessage gives the reason",
        ds.DER_EVSE_02,
    )
