"""What reference devices and tester roles need from the lab, as plain settings.

Devices and testers never import the lab config models: the edge (the pytest plugin, the ``vgi``
commands) translates the loaded lab config once (:func:`harness.lab.settings.device_settings`) and hands
these settings down. They hold the timer values with the lab's PIXIT overrides applied, the PICS keys
the DUT supports, and the certificate paths resolved against the lab file's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True)
class DeviceSettings:
    # every registered protocol timer, in seconds, with the lab's PIXIT override where it has one
    timers: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # PICS protocols the DUT implements and PICS options that are true
    supported: frozenset[str] = frozenset()
    # PIXIT certificates, resolved to absolute paths
    certificates: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    # PIXIT named addresses
    addresses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # the lab file's folder, when the lab came from a file
    lab_dir: Path | None = None
    # the lab's pilot driver (a name in the entry point group vgi.pilot_drivers) and the options it is
    # built with; None: the pilot is held outside the harness (a `plc` lab's pilot box)
    pilot_driver: str | None = "sim"
    pilot_options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # IEEE 2030.5 registration PIN for the DUT's EndDevice (PIXIT); None: the simulated lab's PIN
    sep2_registration_pin: int | None = None
    # IEEE 2030.5 DER scenarios: how much faster than the wall clock the lab's clock runs (PIXIT
    # ``sep2_clock_speedup``, its default computed by the edge); 1.0: real time
    sep2_clock_speedup: float = 1.0

    def timer(self, name: str) -> float:
        try:
            return self.timers[name]
        except KeyError:
            raise KeyError(f"unknown protocol timer {name!r} (`vgi lab timers` lists them)") from None

    def supports(self, key: str) -> bool:
        """A PICS protocol name or option key; an option the lab does not state counts as absent."""
        return key in self.supported
