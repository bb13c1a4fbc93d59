"""The catalogue of every protocol timer a lab may override through PIXIT.

The registry itself (:mod:`harness.protocol.timers`) imports nothing: each protocol module registers
its own timers when it is imported.  The lab sits at the edge, so it is the one that knows every
module registering timers; lab validation, the device settings and `vgi lab timers` ask here.
"""

from __future__ import annotations

# Each of these registers its timers on import (harness.protocol.timers.register_timer).
import harness.protocol.din70121.timing  # noqa: F401
import harness.protocol.iso15118_2.timing  # noqa: F401
import harness.protocol.iso15118_20.timing  # noqa: F401
import harness.protocol.pilot.j1772  # noqa: F401
import harness.protocol.sdp  # noqa: F401
import harness.protocol.sep2.timing  # noqa: F401
import harness.protocol.slac.constants  # noqa: F401
from harness.protocol.timers import TIMERS, TimerDef


def known_timers() -> dict[str, TimerDef]:
    """Every registered protocol timer by name (a copy: callers cannot change the registry)."""
    return dict(TIMERS)
