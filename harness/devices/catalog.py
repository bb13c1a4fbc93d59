"""Which roles the built-in reference devices can play (the `sim` DUT access kind and `vgi sim`)."""

from __future__ import annotations

# role -> module:function that runs the device until cancelled (see harness.devices.runner)
SIM_ROLES: dict[str, str] = {
    "secc": "harness.devices.secc:run_secc",
    "evcc": "harness.devices.evcc:run_evcc",
}
