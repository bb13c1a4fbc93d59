"""Then steps for an EV DER client under a volt-var or freq-watt curve (interface 1): its reported
reactive power / export against the served DERCurve at the grid point it reports
(:mod:`harness.verdict.der_curves`).  The grid point itself is set by steps/der.py (the lab's grid,
:mod:`harness.devices.sep2.der_grid`).

Tolerances: PIXIT ``der_var_tolerance_var`` (volt-var) and ``der_power_tolerance_w`` (freq-watt), with
the settle time of the other DER power checks (steps/der_checks.py).
"""

from __future__ import annotations

from pytest_bdd import then

from harness.scenario import ScenarioRun
from harness.verdict.checks import der as d
from steps.der_checks import der_pixit, power_check

# The judged readings must span this many grid points (the nominal one and the changed one at least),
# so the grid change mid-scenario is exercised.
CURVE_GRID_POINTS = 2


@then("the EV's reactive power follows the volt-var curve at the grid voltage it reports")
def follows_volt_var(vgi_scenario: ScenarioRun) -> None:
    tolerance = der_pixit(vgi_scenario).der_var_tolerance_var
    check = power_check(vgi_scenario, "volt_var", var_tolerance=tolerance, min_grid_points=CURVE_GRID_POINTS)
    vgi_scenario.expect(
        check,
        f"each settled reactive-power reading within {tolerance:g} var of the volt-var curve at the grid "
        f"voltage reported with it, over at least {CURVE_GRID_POINTS} grid voltages",
        d.DER_CTL_06,
    )


@then("the EV's export follows the freq-watt curve at the grid frequency it reports")
def follows_freq_watt(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "freq_watt", "exports", min_grid_points=CURVE_GRID_POINTS)
    vgi_scenario.expect(
        check,
        "each settled real-power reading within the power tolerance of opModFixedW capped by the freq-watt "
        f"curve at the grid frequency reported with it, over at least {CURVE_GRID_POINTS} grid frequencies",
        d.DER_CTL_07,
    )
