"""Check builders of the grid-to-EV loop (interfaces 3 + 4): a DC charger under test turns the PFE's DER
control into SAE J2847/2 V2G discharge on the EV link (:mod:`harness.verdict.der_grid_loop` judges them
from the capture that holds both links).  Times are server seconds (the lab clock may run ``speedup``
times the wall clock); powers W.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from harness.verdict.checks.common import UNSET, Check, _Unset
from harness.verdict.checks.requirements import requirement
from harness.verdict.verdicts import Verdict

DER_DCPC_01 = requirement("DER-DCPC-01")
DER_DCPC_02 = requirement("DER-DCPC-02")
DER_DCPC_03 = requirement("DER-DCPC-03")

# What a der_grid_loop check judges.
DEMAND = "demand"
LATENCY = "latency"


@dataclass(frozen=True, slots=True)
class DerGridLoop(Check):
    """The DUT's CurrentDemandRes against control ``control`` of the PFE (``judge``: the discharge it asks
    for while the control is in effect, or the latency from the control's effective start)."""

    kind: ClassVar[str] = "der_grid_loop"
    speedup: float
    control: str
    judge: str
    tolerance_w: float | _Unset = UNSET
    max_latency_s: float | None | _Unset = UNSET
    cycles: int | _Unset = UNSET
    jitter_s: float | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
