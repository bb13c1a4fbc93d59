"""The timeline: what was on the wire, decoded, in wire-time order.

A live run and `vgi analyze CAPTURE` build it with the same code, so every verdict can be derived
again from the capture alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One decoded message, link event or decode error.

    ``t`` is the wire timestamp in seconds (epoch, from the capture); ``frame`` is the 1-based frame
    number in the capture file, so a lab engineer can find it in Wireshark.  ``protocol`` is e.g.
    ``SDP``, ``V2GTP``, ``TCP``, ``SLAC``; ``message`` the message name in the standard's words (e.g.
    ``SECCDiscoveryReq``) or a link event (``SYN``, ``RST``).  ``error`` is set when the frame could
    not be decoded, and then ``fields`` holds ``offset`` (bytes) and ``raw`` (hex) of the bad part.
    """

    t: float
    frame: int
    src: str
    dst: str
    protocol: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    sport: int | None = None  # transport ports, when the frame had them
    dport: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimelineEvent:
        return cls(**data)


Timeline = list[TimelineEvent]
