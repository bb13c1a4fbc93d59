"""Steps shared by every interface: the DUT's presence and generic timeline checks."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from harness.scenario import ScenarioRun


# Not "the IEEE 2030.5 <role> under test is running": steps/sep2_server_dut.py starts that DUT with its
# tester client (excluded here so the step resolves to one definition, whatever the plugin order).
@given(parsers.re(r"the (?P<role>(?!IEEE 2030\.5 ).+) under test is running"))
def dut_running(vgi_scenario: ScenarioRun, role: str) -> None:
    """A DUT that serves (an SECC, a server) is started before the tester acts."""
    vgi_scenario.start_dut(role.lower())


@when(parsers.parse("the {role} under test is plugged in"))
def dut_plugged_in(vgi_scenario: ScenarioRun, role: str) -> None:
    """A DUT that initiates (an EVCC, a client) starts its exchange when plugged in."""
    vgi_scenario.start_dut(role.lower())
