"""ISO 15118-20 DC_BPT specifics: which element carries the energy transfer mode and the control mode,
and the discharge limits both sides exchange (V2G_CI_DC.xsd; REFERENCE-DER.md section 4).

Sign convention (ISO 15118-20, as the sample captures and josev use it): a negative power or current
in a schedule, an EV power profile or a charge-loop target is a discharge; the discharge *limits*
(EV/EVSE Maximum/Minimum Discharge Power/Current) are magnitudes.

Harness choices (no public text of the standard at hand; say so in verdicts):

* ``FAILED_WrongChargeParameter`` when the energy transfer mode of DC_ChargeParameterDiscoveryReq does not
  match the selected service (BPT element in a DC session or the reverse), when a BPT charge loop lacks
  the EV's discharge limits, when the charge loop's control mode is not the selected one, and for a
  negative EVTargetCurrent in a session that selected DC (not DC_BPT).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.protocol.iso15118_20.messages import ResponseCode, rational
from harness.protocol.iso15118_20.services import ControlMode

# DC_ChargeParameterDiscovery energy transfer mode elements (V2G_CI_DC.xsd substitution group).
CPD_REQ_DC = "DC_CPDReqEnergyTransferMode"
CPD_REQ_BPT = "BPT_DC_CPDReqEnergyTransferMode"
CPD_RES_DC = "DC_CPDResEnergyTransferMode"
CPD_RES_BPT = "BPT_DC_CPDResEnergyTransferMode"

# DC_ChargeLoop control mode elements by (control mode, bidirectional).
CL_REQ: dict[tuple[int, bool], str] = {
    (ControlMode.Scheduled, False): "Scheduled_DC_CLReqControlMode",
    (ControlMode.Scheduled, True): "BPT_Scheduled_DC_CLReqControlMode",
    (ControlMode.Dynamic, False): "Dynamic_DC_CLReqControlMode",
    (ControlMode.Dynamic, True): "BPT_Dynamic_DC_CLReqControlMode",
}
CL_RES: dict[tuple[int, bool], str] = {
    (ControlMode.Scheduled, False): "Scheduled_DC_CLResControlMode",
    (ControlMode.Scheduled, True): "BPT_Scheduled_DC_CLResControlMode",
    (ControlMode.Dynamic, False): "Dynamic_DC_CLResControlMode",
    (ControlMode.Dynamic, True): "BPT_Dynamic_DC_CLResControlMode",
}
CL_REQ_NAMES = frozenset(CL_REQ.values())

# The EV's discharge limits a BPT scheduled charge loop must carry for the reference SECC to discharge
# (optional in the schema; the harness requires them, see the module docstring).
REQUIRED_LOOP_DISCHARGE_LIMITS = ("EVMaximumDischargePower", "EVMaximumDischargeCurrent")
WRONG_PARAMETER_CODE = ResponseCode.FAILED_WrongChargeParameter


def control_mode_of(content: Mapping[str, Any]) -> str | None:
    """The name of the charge-loop control mode element a DC_ChargeLoopReq/Res carries."""
    return next(
        (
            name
            for name in content
            if name.endswith("_DC_CLReqControlMode") or name.endswith("_DC_CLResControlMode")
        ),
        None,
    )


def ev_discharge_limits(
    max_power_w: float, min_power_w: float, max_current_a: float, min_current_a: float
) -> dict[str, Any]:
    """The BPT additions to DC_CPDReqEnergyTransferMode (magnitudes)."""
    return {
        "EVMaximumDischargePower": rational(max_power_w),
        "EVMinimumDischargePower": rational(min_power_w),
        "EVMaximumDischargeCurrent": rational(max_current_a),
        "EVMinimumDischargeCurrent": rational(min_current_a),
    }


def evse_discharge_limits(
    max_power_w: float, min_power_w: float, max_current_a: float, min_current_a: float
) -> dict[str, Any]:
    """The BPT additions to DC_CPDResEnergyTransferMode (magnitudes)."""
    return {
        "EVSEMaximumDischargePower": rational(max_power_w),
        "EVSEMinimumDischargePower": rational(min_power_w),
        "EVSEMaximumDischargeCurrent": rational(max_current_a),
        "EVSEMinimumDischargeCurrent": rational(min_current_a),
    }


def missing_loop_discharge_limits(control_mode: Mapping[str, Any]) -> list[str]:
    """The required EV discharge limits a BPT_Scheduled_DC_CLReqControlMode lacks."""
    return [name for name in REQUIRED_LOOP_DISCHARGE_LIMITS if name not in control_mode]


def dynamic_schedule_request_problems(mode: Mapping[str, Any]) -> list[str]:
    """What breaks REFERENCE-DER.md 4's rules for Dynamic_SEReqControlMode: EV maximum and minimum V2X
    energy requests both present or both absent; MinimumSOC <= TargetSOC."""
    found = []
    if ("EVMaximumV2XEnergyRequest" in mode) != ("EVMinimumV2XEnergyRequest" in mode):
        found.append(
            "EVMaximumV2XEnergyRequest and EVMinimumV2XEnergyRequest must be both present or both absent"
        )
    minimum, target = mode.get("MinimumSOC"), mode.get("TargetSOC")
    if minimum is not None and target is not None and minimum > target:
        found.append(f"MinimumSOC {minimum} is above TargetSOC {target}")
    return found
