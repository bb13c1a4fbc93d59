"""Check builders for SAE J2847/2 DC bidirectional power transfer (V2H, V2G) on ISO 15118-2.

The messages are ISO 15118-2's (timeline protocol ``ISO-2``, DIN SPEC 70121's shape); a discharge is a
negative PhysicalValue, whose ``Value`` is negative whatever its multiplier, so the predicates test the
``Value`` against the xs:short range below zero. The facts are in harness/protocol/iso15118_2/bpt.py.
"""

from __future__ import annotations

from typing import Any

from harness.protocol.din70121.messages import CHARGE_SERVICE_ID, PHYSICAL_VALUE_MIN
from harness.protocol.iso15118_2.bpt import SERVICES, BptMode
from harness.verdict.checks import din70121 as d
from harness.verdict.checks.common import PRESENT, Selector, between
from harness.verdict.checks.iso15118_2 import ISO2
from harness.verdict.checks.requirements import requirement

J2847_2_BPT_01 = requirement("J2847-2-BPT-01")
J2847_2_BPT_02 = requirement("J2847-2-BPT-02")
J2847_2_BPT_03 = requirement("J2847-2-BPT-03")
J2847_2_BPT_04 = requirement("J2847-2-BPT-04")
J2847_2_BPT_05 = requirement("J2847-2-BPT-05")
J2847_2_BPT_06 = requirement("J2847-2-BPT-06")
J2847_2_BPT_07 = requirement("J2847-2-BPT-07")
J2847_2_BPT_08 = requirement("J2847-2-BPT-08")
J2847_2_BPT_09 = requirement("J2847-2-BPT-09")

NEGATIVE = between(PHYSICAL_VALUE_MIN, -1)


def message(name: str, sender: str | None = None, **fields: Any) -> Selector:
    """ISO 15118-2 message ``name`` from ``sender`` with field predicates by dotted short name."""
    return d.din(
        name, sender, {d.field_path(name, key): value for key, value in fields.items()}, protocol=ISO2
    )


def negative(name: str, *values: str) -> dict[str, Any]:
    """Predicates: each PhysicalValue ``values`` of ``name`` is negative."""
    return {d.field_path(name, f"{value}.Value"): NEGATIVE for value in values}


def with_negative(name: str, sender: str | None, *values: str, **fields: Any) -> Selector:
    """``name`` from ``sender`` whose PhysicalValues ``values`` are all negative (a discharge)."""
    return message(name, sender, **fields).matching_fields(negative(name, *values))


def selection(mode: BptMode | None) -> dict[str, Any]:
    """SelectedServiceList.SelectedService of a selection of the charge service and ``mode``'s service
    (either order, no ParameterSetID); the charge service alone for None."""
    charge = {"ServiceID": CHARGE_SERVICE_ID}
    if mode is None:
        return {"eq": [charge]}
    bpt = {"ServiceID": SERVICES[mode].service_id}
    return {"in": [[charge, bpt], [bpt, charge]]}


def selects(sender: str, mode: BptMode | None) -> Selector:
    """A PaymentServiceSelectionReq from ``sender`` selecting the charge service and ``mode``'s."""
    return message(
        "PaymentServiceSelectionReq", sender, **{"SelectedServiceList.SelectedService": selection(mode)}
    )


def v2h_parameters(sender: str) -> Selector:
    """A V2H ChargeParameterDiscoveryReq: BulkSOC and negative maximum current and power."""
    name = "ChargeParameterDiscoveryReq"
    return with_negative(
        name,
        sender,
        "DC_EVChargeParameter.EVMaximumCurrentLimit",
        "DC_EVChargeParameter.EVMaximumPowerLimit",
        **{"DC_EVChargeParameter.BulkSOC": PRESENT},
    )
