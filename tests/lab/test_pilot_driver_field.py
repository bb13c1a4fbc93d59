"""The lab config's `pilot` field: which driver holds the control pilot, and its translation at the edge."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.lab.config import LabConfig
from harness.lab.loader import load_lab
from harness.lab.settings import device_settings
from lab_configs import DEFAULT_LAB, LAB_CONFIGS_DIR


def _lab(access: dict[str, object], **extra: object) -> LabConfig:
    return LabConfig.model_validate(
        {
            "name": "bench",
            "dut": {
                "vendor": "x",
                "model": "y",
                "firmware": "1",
                "serial": "2",
                "roles": ["evse"],
                "interfaces": [5],
            },
            "access": access,
            "pics": {"protocols": ["slac", "pilot"]},
            **extra,
        }
    )


def test_the_default_lab_holds_the_pilot_with_the_simulated_driver() -> None:
    config = load_lab(DEFAULT_LAB).config
    assert (config.pilot.driver, config.pilot.options) == ("sim", {})
    assert device_settings(config).pilot_driver == "sim"


def test_a_plc_lab_without_a_pilot_field_holds_no_driver() -> None:
    config = load_lab(LAB_CONFIGS_DIR / "examples" / "plc-qca7005-evse.yaml").config
    assert config.access.kind == "plc" and config.pilot.driver is None
    assert device_settings(config).pilot_driver is None


def test_a_lab_names_a_driver_and_its_options() -> None:
    config = _lab(
        {"kind": "plc", "interface": "eth1"},
        pilot={"driver": "loopback", "options": {"host": "192.0.2.7", "port": 502, "invert": True}},
    )
    settings = device_settings(config)
    assert settings.pilot_driver == "loopback"
    assert dict(settings.pilot_options) == {"host": "192.0.2.7", "port": 502, "invert": True}


def test_a_tcp_lab_keeps_the_simulated_pilot_as_before() -> None:
    assert _lab({"kind": "tcp", "interface": "eth0"}).pilot.driver == "sim"


@pytest.mark.parametrize(
    ("pilot", "message"),
    [
        ({"driver": "no-such-box"}, "no pilot driver 'no-such-box' installed"),
        ({"driver": "sim", "colour": "red"}, "Extra inputs are not permitted"),
        ({"driver": "bad name!"}, "String should match pattern"),
    ],
)
def test_a_bad_pilot_field_is_an_error(pilot: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _lab({"kind": "sim"}, pilot=pilot)
