"""The authorizing EVSE's J3072 rules: may this EV's on-board inverter export at this site?

SAE J3072 has the EVSE configure and authorize the EV's grid-support inverter before it discharges
(REFERENCE-DER.md section 2).  The field-level profile of that exchange on IEEE 2030.5 is
[unverified] in the project's reference: nothing public was found on the certification fields.  So
every rule below is a **harness rule**: what the simulated lab's EVSE checks, written down in one
place so a lab holding the profile changes it here.  What the rules read is what the EV PUTs on the
wire: its DERCapability (ratings, type, modes) and DERSettings (the values it is set to).

Given an :class:`InverterDeclaration` and the :class:`SiteLimits`, :func:`authorize` returns
:data:`AUTHORIZED` or a :class:`Refused` naming the first rule broken, with a reason the EV shows its
user.  Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from py20305.models.sep import sep

from harness.codec.sep2.values import DER_TYPE_ELECTRIC_VEHICLE
from harness.protocol.sep2.der_model import modes_from_bitmap

# Harness rule: the site's largest export (W) when the lab states none; a 7.2 kW single-phase
# connection, as the simulated lab's AC EVSE (README AC DER "J3072 authorization").
DEFAULT_SITE_MAX_EXPORT_W = 7200.0
# Harness rule: the inverter must declare itself an EV.  DERType 81 = electric vehicle (sep.xsd DERType
# annotation; that J3072 requires it is [unverified], REFERENCE-DER.md section 2).
REQUIRED_DER_TYPE = DER_TYPE_ELECTRIC_VEHICLE
# Harness rule: modes the EVSE needs to command the inverter: opModEnergize (authorization itself is
# expressed by DefaultDERControl opModEnergize, [unverified], REFERENCE-DER.md section 2) and
# opModFixedW (dispatch by signed fixed power).
REQUIRED_MODES = frozenset({"opModEnergize", "opModFixedW"})

# The rules, by name (a refusal names the one broken; the order below is the order they are checked).
RULE_DER_TYPE = "DERCapability type is EV"
RULE_DISCHARGE_RATING = "a discharge rating is declared"
RULE_MAX_W_WITHIN_RATING = "setMaxW within rtgMaxW"
RULE_DISCHARGE_WITHIN_SITE = "setMaxDischargeRateW within the site's export limit"
RULE_RAMP_DECLARED = "setGradW declared"
RULE_MODES_SUPPORTED = "opModEnergize and opModFixedW supported"
RULES = (
    RULE_DER_TYPE,
    RULE_DISCHARGE_RATING,
    RULE_MAX_W_WITHIN_RATING,
    RULE_DISCHARGE_WITHIN_SITE,
    RULE_RAMP_DECLARED,
    RULE_MODES_SUPPORTED,
)
# The text of a refusal the EVSE publishes to the user (README AC DER: a TextMessage starting so).
REFUSAL_PREFIX = "J3072 authorization refused: "


@dataclass(frozen=True, slots=True)
class InverterDeclaration:
    """What the EV declared of its inverter, in watts (multipliers applied); None: not declared."""

    der_type: int
    modes_supported: frozenset[str]
    rtg_max_w: float | None
    rtg_max_discharge_rate_w: float | None = None
    set_max_w: float | None = None
    set_max_discharge_rate_w: float | None = None
    set_grad_w: int | None = None


@dataclass(frozen=True, slots=True)
class SiteLimits:
    """What the site allows (PIXIT or the tester's choice)."""

    max_export_w: float = DEFAULT_SITE_MAX_EXPORT_W


@dataclass(frozen=True, slots=True)
class Authorized:
    """The inverter may export (within what it is commanded)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """The inverter may not export: ``rule`` (one of :data:`RULES`) is broken, ``reason`` says how."""

    rule: str
    reason: str

    @property
    def message(self) -> str:
        """The text the EVSE publishes to the user."""
        return REFUSAL_PREFIX + self.reason


AUTHORIZED = Authorized()
Decision = Authorized | Refused


def _watts(power: sep.ActivePower | None) -> float | None:
    if power is None:
        return None
    return power.value * 10.0**power.multiplier.value


def declaration(capability: sep.Dercapability, settings: sep.Dersettings) -> InverterDeclaration:
    """The declaration read from the DERCapability and DERSettings the EV PUT."""
    return InverterDeclaration(
        der_type=capability.type_value.value,
        modes_supported=modes_from_bitmap(capability.modes_supported.value),
        rtg_max_w=_watts(capability.rtg_max_w),
        rtg_max_discharge_rate_w=_watts(capability.rtg_max_discharge_rate_w),
        set_max_w=_watts(settings.set_max_w),
        set_max_discharge_rate_w=_watts(settings.set_max_discharge_rate_w),
        set_grad_w=settings.set_grad_w,
    )


def discharge_limit_w(declared: InverterDeclaration) -> float | None:
    """The most the inverter says it will export: setMaxDischargeRateW, which "defaults to
    rtgMaxDischargeRateW" (sep.xsd DERSettings annotation), else setMaxW (harness rule: an inverter
    without a storage-specific limit exports at most its active power limit)."""
    for value in (declared.set_max_discharge_rate_w, declared.rtg_max_discharge_rate_w, declared.set_max_w):
        if value is not None:
            return value
    return None


def authorize(declared: InverterDeclaration, site: SiteLimits | None = None) -> Decision:
    """The EVSE's decision (harness rules, checked in the order of :data:`RULES`)."""
    site = site or SiteLimits()
    if declared.der_type != REQUIRED_DER_TYPE:
        return Refused(
            RULE_DER_TYPE, f"DERCapability type {declared.der_type} is not {REQUIRED_DER_TYPE} (EV)"
        )
    # A rating of 0 W declares nothing (harness rule).
    rating = declared.rtg_max_discharge_rate_w or declared.rtg_max_w
    if not rating or rating <= 0:
        return Refused(RULE_DISCHARGE_RATING, "neither rtgMaxDischargeRateW nor rtgMaxW is declared")
    if (
        declared.set_max_w is not None
        and declared.rtg_max_w is not None
        and declared.set_max_w > declared.rtg_max_w
    ):
        return Refused(
            RULE_MAX_W_WITHIN_RATING,
            f"setMaxW {declared.set_max_w:g} W exceeds rtgMaxW {declared.rtg_max_w:g} W",
        )
    limit = discharge_limit_w(declared)
    if limit is None or limit > site.max_export_w:
        shown = "undeclared" if limit is None else f"{limit:g} W"
        return Refused(
            RULE_DISCHARGE_WITHIN_SITE,
            f"setMaxDischargeRateW {shown} exceeds the site's export limit {site.max_export_w:g} W",
        )
    if declared.set_grad_w is None:
        return Refused(RULE_RAMP_DECLARED, "setGradW is not declared")
    missing = sorted(REQUIRED_MODES - declared.modes_supported)
    if missing:
        return Refused(RULE_MODES_SUPPORTED, f"modesSupported lacks {', '.join(missing)}")
    return AUTHORIZED
