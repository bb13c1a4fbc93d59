"""The edge translation: a loaded lab config becomes the plain settings each layer takes."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from harness.devices.settings import DeviceSettings
from harness.lab.config import PICS_OPTION_DEFAULTS, LabConfig
from harness.lab.timers import known_timers


def device_settings(lab: LabConfig, lab_dir: Path | None = None) -> DeviceSettings:
    """Settings for reference devices and tester roles: timers with PIXIT overrides, PICS, paths."""
    timers = {name: lab.pixit.timer(name) for name in known_timers()}
    options = {**PICS_OPTION_DEFAULTS, **lab.pics.options}
    supported = set(lab.pics.protocols) | {key for key, on in options.items() if on}
    certificates = {
        name: (Path(path) if Path(path).is_absolute() or lab_dir is None else lab_dir / path)
        for name, path in lab.pixit.certificates.items()
    }
    return DeviceSettings(
        timers=MappingProxyType(timers),
        supported=frozenset(supported),
        certificates=MappingProxyType(certificates),
        addresses=MappingProxyType(dict(lab.pixit.addresses)),
        lab_dir=lab_dir,
        pilot_driver=lab.pilot.driver,
        pilot_options=MappingProxyType(dict(lab.pilot.options)),
        sep2_registration_pin=lab.pixit.sep2_registration_pin,
        sep2_clock_speedup=lab.sep2_clock_speedup(),
    )
