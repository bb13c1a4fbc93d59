"""supportedAppProtocol for ISO 15118-20 DC, and the header clock: facts both -20 cores share.

The negotiation itself is :mod:`harness.protocol.din70121.app_protocol` (the same AppProtocol schema
serves DIN SPEC 70121, ISO 15118-2 and -20); this module adds what -20 DC offers there.
"""

from __future__ import annotations

from harness.protocol.din70121.app_protocol import SupportedProtocol
from harness.protocol.iso15118_20.messages import DC_NAMESPACE, VERSION_MAJOR, VERSION_MINOR

# ISO 15118-20 DC as an AppProtocol: urn:iso:std:iso:15118:-20:DC, version 1.0.
DC_PROTOCOL = SupportedProtocol(DC_NAMESPACE, VERSION_MAJOR, VERSION_MINOR)

# The Unix time the cores' clock origin (now = 0) stands for when the caller gives none: a fixed instant
# (2025-10-26T10:36:34Z, the sample capture's first EV TimeStamp), so simulated runs are repeatable.  A live
# driver passes the wall-clock time of its monotonic clock's origin instead.
DEFAULT_TIME_ANCHOR_S = 1_761_474_994.0


def timestamp(time_anchor_s: float, now: float) -> int:
    """MessageHeaderType.TimeStamp: whole seconds since the Unix epoch at ``now``."""
    return max(0, int(time_anchor_s + now))
