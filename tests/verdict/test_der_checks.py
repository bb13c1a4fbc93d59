"""The DER check builders produce valid plain specs the evaluator reads."""

import pytest

from harness.verdict.checks import der as d
from harness.verdict.checks.schema import SpecError


def test_der_builders_give_plain_specs():
    spec = d.DerResponses(
        120.0, slack_s=120.0, published=("AB",), require={"AB": (4, 8)}, user_choices=True
    ).spec()
    assert spec == {
        "kind": "der_responses",
        "speedup": 120.0,
        "slack_s": 120.0,
        "published": ["AB"],
        "require": {"AB": [4, 8]},
        "user_choices": True,
    }
    power = d.DerPower(120.0, ("fixed", "exports"), tolerance_w=200.0).spec()
    assert power["rules"] == ["fixed", "exports"] and power["tolerance_w"] == 200.0
    assert d.DerPollRate(120.0, 240, min_polls=3).spec() == {
        "kind": "der_poll_rate",
        "speedup": 120.0,
        "poll_rate_s": 240,
        "min_polls": 3,
    }
    assert d.written("PUT", "DERSettings", path="/edev/1/der/1/derg").spec()["where"] == {
        "method": "PUT",
        "root": "DERSettings",
        "path": "/edev/1/der/1/derg",
    }
    assert d.served("DERProgramList").spec() == {"protocol": "HTTP", "message": "200 DERProgramList"}


def test_a_wrong_der_builder_fails_when_built():
    with pytest.raises(SpecError, match="rules"):
        d.DerPower(120.0, ("nonsense",)).spec()
    with pytest.raises(SpecError, match="speedup"):
        d.DerPollRate(0.0, 240).spec()
