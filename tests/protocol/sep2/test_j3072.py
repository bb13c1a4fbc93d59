"""The authorizing EVSE's J3072 rules (harness rules): accept, and each refusal with its reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.protocol.sep2.der_model import modes_bitmap
from harness.protocol.sep2.j3072 import (
    AUTHORIZED,
    DEFAULT_SITE_MAX_EXPORT_W,
    REFUSAL_PREFIX,
    RULE_DER_TYPE,
    RULE_DISCHARGE_RATING,
    RULE_DISCHARGE_WITHIN_SITE,
    RULE_MAX_W_WITHIN_RATING,
    RULE_MODES_SUPPORTED,
    RULE_RAMP_DECLARED,
    RULES,
    InverterDeclaration,
    Refused,
    SiteLimits,
    authorize,
    declaration,
    discharge_limit_w,
)

EV = InverterDeclaration(
    der_type=v.DER_TYPE_ELECTRIC_VEHICLE,
    modes_supported=frozenset({"opModEnergize", "opModFixedW", "opModConnect", "opModMaxLimW"}),
    rtg_max_w=11_000,
    rtg_max_discharge_rate_w=7_200,
    set_max_w=7_200,
    set_max_discharge_rate_w=6_000,
    set_grad_w=100,
)


def test_a_compliant_ev_is_authorized() -> None:
    assert authorize(EV) == AUTHORIZED
    assert authorize(replace(EV, set_max_discharge_rate_w=DEFAULT_SITE_MAX_EXPORT_W)) == AUTHORIZED


@pytest.mark.parametrize(
    ("change", "rule", "words"),
    [
        ({"der_type": v.DER_TYPE_EVSE}, RULE_DER_TYPE, "type 82 is not 81"),
        ({"rtg_max_w": 0, "rtg_max_discharge_rate_w": None}, RULE_DISCHARGE_RATING, "rtgMaxW"),
        ({"set_max_w": 12_000}, RULE_MAX_W_WITHIN_RATING, "setMaxW 12000 W exceeds rtgMaxW 11000 W"),
        ({"set_max_discharge_rate_w": 9_000}, RULE_DISCHARGE_WITHIN_SITE, "9000 W exceeds"),
        ({"set_grad_w": None}, RULE_RAMP_DECLARED, "setGradW"),
        ({"modes_supported": frozenset({"opModEnergize"})}, RULE_MODES_SUPPORTED, "lacks opModFixedW"),
    ],
)
def test_each_rule_refuses_with_its_reason(change: dict, rule: str, words: str) -> None:
    decision = authorize(replace(EV, **change))
    assert isinstance(decision, Refused)
    assert decision.rule == rule and words in decision.reason
    assert decision.message == REFUSAL_PREFIX + decision.reason
    assert decision.message.startswith("J3072 authorization refused: ")


def test_every_rule_has_a_refusal_case_and_the_order_is_the_checking_order() -> None:
    # Broken twice (type and modes), the first rule in RULES is named.
    decision = authorize(replace(EV, der_type=0, modes_supported=frozenset()))
    assert isinstance(decision, Refused) and decision.rule == RULES[0] == RULE_DER_TYPE
    assert len(set(RULES)) == 6


def test_the_site_limit_decides_the_discharge_rule() -> None:
    assert isinstance(authorize(EV, SiteLimits(max_export_w=5_000)), Refused)
    assert authorize(EV, SiteLimits(max_export_w=6_000)) == AUTHORIZED


def test_discharge_limit_defaults_to_the_rating_then_set_max_w() -> None:
    assert discharge_limit_w(EV) == 6_000
    assert discharge_limit_w(replace(EV, set_max_discharge_rate_w=None)) == 7_200
    bare = replace(EV, set_max_discharge_rate_w=None, rtg_max_discharge_rate_w=None, set_max_w=5_000)
    assert discharge_limit_w(bare) == 5_000
    # An inverter rated above the site's export limit with nothing lower declared is refused.
    big = replace(EV, set_max_discharge_rate_w=None, rtg_max_discharge_rate_w=11_000)
    assert isinstance(authorize(big), Refused)


def _power(value: int, multiplier: int = 0) -> sep.ActivePower:
    return v.active_power(value, multiplier)


def test_declaration_reads_the_put_resources_with_their_multipliers() -> None:
    capability = r.DERCapability(
        modes_supported=sep.DercontrolType(value=modes_bitmap({"opModEnergize", "opModFixedW"})),
        rtg_max_w=_power(11, 3),
        rtg_max_discharge_rate_w=_power(72, 2),
        type_value=sep.Dertype(value=v.DER_TYPE_ELECTRIC_VEHICLE),
    )
    settings = r.DERSettings(
        set_grad_w=100,
        set_max_w=_power(7200),
        set_max_discharge_rate_w=_power(6, 3),
        updated_time=v.sep_time(0),
    )
    declared = declaration(capability, settings)
    assert declared == InverterDeclaration(
        der_type=81,
        modes_supported=frozenset({"opModEnergize", "opModFixedW"}),
        rtg_max_w=11_000,
        rtg_max_discharge_rate_w=7_200,
        set_max_w=7_200,
        set_max_discharge_rate_w=6_000,
        set_grad_w=100,
    )
    assert authorize(declared) == AUTHORIZED
