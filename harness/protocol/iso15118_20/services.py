"""ISO 15118-20 DC and DC_BPT service parameter sets (ServiceDetailRes.ServiceParameterList), as data.

REFERENCE-DER.md section 4: the parameters of a DC / DC_BPT parameter set are Connector, ControlMode
(1 scheduled, 2 dynamic), MobilityNeedsMode (2 only with dynamic), Pricing, and for DC_BPT also
BPTChannel (1 unified, 2 separated) and GeneratorMode (1 grid-following, 2 grid-forming).  Each is an
``intValue`` Parameter named as below (the names josev and the sample capture use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from harness.protocol.iso15118_20.messages import ServiceID, as_list


class Connector(IntEnum):
    Extended = 1
    Dual2 = 2
    Dual4 = 3


class ControlMode(IntEnum):
    Scheduled = 1
    Dynamic = 2


class MobilityNeedsMode(IntEnum):
    ProvidedByEvcc = 1
    ProvidedBySecc = 2


class Pricing(IntEnum):
    NoPricing = 0
    AbsolutePricing = 1
    PriceLevels = 2


class BptChannel(IntEnum):
    Unified = 1
    Separated = 2


class GeneratorMode(IntEnum):
    GridFollowing = 1
    GridForming = 2


@dataclass(frozen=True, slots=True)
class ParameterSet:
    """One parameter set of the DC or DC_BPT service."""

    parameter_set_id: int = 1
    connector: int = Connector.Extended
    control_mode: int = ControlMode.Scheduled
    mobility_needs_mode: int = MobilityNeedsMode.ProvidedByEvcc
    # The reference SECC's sets promise price levels (with one flat level in every charging schedule):
    # a price schedule is optional in the schema, but josev 0.31.2's EVCC rejects a ChargingSchedule
    # without one and ends the session.
    pricing: int = Pricing.PriceLevels
    # DC_BPT only (None in a DC parameter set).
    bpt_channel: int | None = None
    generator_mode: int | None = None

    @property
    def bidirectional(self) -> bool:
        return self.bpt_channel is not None

    def problems(self) -> list[str]:
        """What makes this set inconsistent (REFERENCE-DER.md 4: mobility-needs mode 2 only with dynamic
        control; a BPT set names both its channel and its generator mode)."""
        found = []
        if (
            self.mobility_needs_mode == MobilityNeedsMode.ProvidedBySecc
            and self.control_mode != ControlMode.Dynamic
        ):
            found.append("MobilityNeedsMode 2 (provided by the SECC) requires ControlMode 2 (dynamic)")
        if (self.bpt_channel is None) != (self.generator_mode is None):
            found.append("a DC_BPT parameter set names both BPTChannel and GeneratorMode")
        return found

    def to_dict(self) -> dict[str, Any]:
        """ParameterSetType."""
        values = [
            ("Connector", self.connector),
            ("ControlMode", self.control_mode),
            ("MobilityNeedsMode", self.mobility_needs_mode),
            ("Pricing", self.pricing),
        ]
        if self.bidirectional:
            values += [("BPTChannel", self.bpt_channel), ("GeneratorMode", self.generator_mode)]
        return {
            "ParameterSetID": self.parameter_set_id,
            "Parameter": [{"Name": name, "intValue": int(value)} for name, value in values],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParameterSet:
        values = {p["Name"]: p.get("intValue") for p in as_list(data.get("Parameter"))}
        return cls(
            parameter_set_id=int(data["ParameterSetID"]),
            connector=int(values.get("Connector", Connector.Extended)),
            control_mode=int(values["ControlMode"]),
            mobility_needs_mode=int(values.get("MobilityNeedsMode", MobilityNeedsMode.ProvidedByEvcc)),
            pricing=int(values.get("Pricing", Pricing.NoPricing)),
            bpt_channel=None if values.get("BPTChannel") is None else int(values["BPTChannel"]),
            generator_mode=None if values.get("GeneratorMode") is None else int(values["GeneratorMode"]),
        )


# The reference SECC's default parameter sets: 1 scheduled, 2 dynamic control (mobility needs from the
# EVCC), extended connector, no pricing; the BPT sets with a unified channel and grid-following
# generator mode.
DC_SCHEDULED = ParameterSet()
DC_DYNAMIC = ParameterSet(parameter_set_id=2, control_mode=ControlMode.Dynamic)
DEFAULT_BPT_PARAMETERS = {"bpt_channel": BptChannel.Unified, "generator_mode": GeneratorMode.GridFollowing}
DC_BPT_SCHEDULED = ParameterSet(**DEFAULT_BPT_PARAMETERS)
DC_BPT_DYNAMIC = ParameterSet(parameter_set_id=2, control_mode=ControlMode.Dynamic, **DEFAULT_BPT_PARAMETERS)
DEFAULT_PARAMETER_SETS: dict[int, tuple[ParameterSet, ...]] = {
    ServiceID.DC: (DC_SCHEDULED, DC_DYNAMIC),
    ServiceID.DC_BPT: (DC_BPT_SCHEDULED, DC_BPT_DYNAMIC),
}


def service_parameter_list(sets: tuple[ParameterSet, ...]) -> dict[str, Any]:
    """ServiceParameterListType of a ServiceDetailRes."""
    return {"ParameterSet": [s.to_dict() for s in sets]}


def parameter_sets(service_detail_res: Mapping[str, Any]) -> list[ParameterSet]:
    """The parameter sets a ServiceDetailRes offers."""
    return [
        ParameterSet.from_dict(s) for s in as_list(service_detail_res["ServiceParameterList"]["ParameterSet"])
    ]
