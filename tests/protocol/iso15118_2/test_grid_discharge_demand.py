"""The SECC's live V2G discharge demand (bpt.GridDischargeDemand) on a simulated clock: the reference EVCC
and SECC in a SAE J2847/2 V2G session whose grid asks for nothing, then for a discharge, then for nothing
again; every CurrentDemandRes follows the demand in force when its request arrived."""

from __future__ import annotations

from typing import Any

import pytest

from harness.devices.models.battery import BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters
from harness.protocol.din70121.evcc import EvccConfig
from harness.protocol.din70121.events import StopRequested
from harness.protocol.din70121.messages import body, to_float
from harness.protocol.din70121.secc import SeccConfig
from harness.protocol.iso15118_2 import bpt
from harness.protocol.iso15118_2.profile import ISO2

SESSION_ID = "8FA57FDE2BFAFE78"
# A pack far from its target and its minimum: the session runs until the EV's user stops it.
PACK = BatteryParameters(
    capacity_kwh=60.0,
    target_soc=80.0,
    taper_start_soc=70.0,
    max_discharge_current_a=100.0,
    max_discharge_power_w=40_000.0,
    min_soc=20.0,
)
CHARGER = ChargerParameters(
    isolation_check_duration_s=0.5, max_discharge_current_a=100.0, max_discharge_power_w=30_000.0
)
DEMAND_AT_S, DEMAND_W = 8.0, 5_000.0
RELEASE_AT_S, STOP_AT_S = 14.0, 18.0


def _v2g(make_session: Any, grid_discharge_w: float = 0.0) -> Any:
    return make_session(
        soc=50.0,
        battery=PACK,
        charger=CHARGER,
        evcc_config=EvccConfig(bpt_modes=("V2G",)),
        secc_config=SeccConfig(
            session_id=SESSION_ID, bpt_services=("V2G",), grid_discharge_w=grid_discharge_w
        ),
        evcc_profiles=(ISO2,),
        secc_profiles=(ISO2,),
    )


def _current_demand(sim: Any) -> list[tuple[float, dict[str, Any], dict[str, Any]]]:
    """(time of the request, request body, response body) of every CurrentDemand exchange."""
    entries = [e for e in sim.messages() if e.name in ("CurrentDemandReq", "CurrentDemandRes")]
    pairs = []
    for request, response in zip(entries[::2], entries[1::2], strict=False):
        assert (request.name, response.name) == ("CurrentDemandReq", "CurrentDemandRes")
        pairs.append((request.time, body(request.message), body(response.message)))
    return pairs


def test_the_demand_takes_effect_from_the_next_current_demand_res_and_ends_with_zero(make_session) -> None:
    sim = _v2g(make_session)
    sim.inject("SECC", bpt.GridDischargeDemand(DEMAND_W, "DER control active"), DEMAND_AT_S)
    sim.inject("SECC", bpt.GridDischargeDemand(0.0, "DER control ended"), RELEASE_AT_S)
    sim.inject("EVCC", StopRequested("test over"), STOP_AT_S)
    sim.run(until=60.0)
    pairs = _current_demand(sim)
    before = [(req, res) for t, req, res in pairs if t < DEMAND_AT_S]
    during = [(req, res) for t, req, res in pairs if DEMAND_AT_S < t < RELEASE_AT_S]
    after = [(req, res) for t, req, res in pairs if t > RELEASE_AT_S]
    assert before and during and after
    # No demand: the EVSE's limits stay positive and the EV charges.
    for request, response in before:
        assert to_float(response["EVSEMaximumPowerLimit"]) > 0
        assert to_float(request["EVTargetCurrent"]) >= 0
    # The demand: negative limits of its size from the first response after it; the EV discharges from
    # its next request on, and the EVSE sinks current.
    assert all(to_float(res["EVSEMaximumPowerLimit"]) == -DEMAND_W for _, res in during)
    assert all(to_float(req["EVTargetCurrent"]) < 0 for req, _ in during[1:])
    assert min(to_float(res["EVSEPresentCurrent"]) for _, res in during) < -5
    # Demand 0 again: positive limits, the EV charges again.
    assert all(to_float(res["EVSEMaximumPowerLimit"]) > 0 for _, res in after)
    assert all(to_float(req["EVTargetCurrent"]) >= 0 for req, _ in after[1:])
    assert sim.secc.core.grid_discharge_w == 0.0
    assert sim.secc.core.charger.discharged_wh > 0


def test_without_an_event_the_configured_demand_applies(make_session) -> None:
    sim = _v2g(make_session, grid_discharge_w=11_000.0)
    sim.inject("EVCC", StopRequested("test over"), 6.0)
    sim.run(until=60.0)
    responses = [res for _, _, res in _current_demand(sim)]
    assert responses and all(to_float(r["EVSEMaximumPowerLimit"]) == -11_000.0 for r in responses)
    assert sim.secc.core.grid_discharge_w is None


def test_a_demand_is_bounded_by_the_power_stage(make_session) -> None:
    sim = _v2g(make_session)
    sim.inject("SECC", bpt.GridDischargeDemand(50_000.0, "more than the charger sinks"), 0.0)
    sim.inject("EVCC", StopRequested("test over"), 6.0)
    sim.run(until=60.0)
    responses = [res for _, _, res in _current_demand(sim)]
    assert responses and all(to_float(r["EVSEMaximumPowerLimit"]) == -30_000.0 for r in responses)


def test_a_negative_demand_is_refused() -> None:
    with pytest.raises(ValueError, match="magnitude"):
        bpt.GridDischargeDemand(-1.0)
