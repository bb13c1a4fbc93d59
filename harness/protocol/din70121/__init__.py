"""DIN SPEC 70121 DC charging, sans-I/O: the EVCC and SECC state machines over decoded messages.

Both machines are cores of the sans-I/O kernel (:mod:`harness.protocol.core`): the kernel's events in, its
actions out, plus DIN's own (see :mod:`.events`); timers from DIN SPEC 70121 Tables 75/77 (see
:mod:`.timing`); messages as plain dicts in the EXI codec's shape (see :mod:`.messages`); DIN fault selectors
and rewrites for the kernel's FaultyCore (see :mod:`.faults`); an in-memory pair on the kernel's simulated
clock (see :mod:`.simulation`).
"""

from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.din70121.timing import DinTimings

__all__ = ["DinTimings", "EvccConfig", "EvccMachine", "SeccConfig", "SeccMachine", "StopResult"]
