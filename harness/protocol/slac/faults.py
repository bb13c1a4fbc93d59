"""SLAC-specific selectors and rewrites for the kernel's fault transforms (:mod:`harness.protocol.faults`).

They select and change the kernel :class:`~harness.protocol.core.Send` actions of a SLAC core, whose
``message`` is the Ethernet frame.  Wrap the core in :class:`~harness.protocol.faults.FaultyCore` (the
devices and the simulation do) and add faults to it::

    faulty = FaultyCore(EvseSlac(config))
    faulty.add(Drop(sends("CM_SLAC_MATCH.CNF"), times=None))          # EVSE never answers the match
    faulty.add(Rewrite(sends("CM_SLAC_PARM.CNF"), rewrite=with_run_id(bytes(8))))   # RunID echo bug
    faulty.add(Rewrite(sends("CM_SLAC_PARM.CNF"), rewrite=with_field("NUM_SOUNDS", b"\\x05")))
    faulty.add(Delay(sends("CM_ATTEN_CHAR.IND"), seconds=1.5))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from harness.codec.homeplug import replace_field
from harness.protocol.core import Send
from harness.protocol.slac.common import SetKey


def sends(name: str, dst: str | None = None) -> Callable[[object], bool]:
    """Selects the Send actions of SLAC message ``name`` (optionally to ``dst`` only)."""

    def match(action: object) -> bool:
        return isinstance(action, Send) and action.name == name and (dst is None or action.destination == dst)

    return match


def sets_key() -> Callable[[object], bool]:
    """Selects the CM_SET_KEY to the local modem (drop it to model a modem that never joins)."""
    return lambda action: isinstance(action, SetKey)


def with_field(field_name: str, value: bytes) -> Callable[[Send], Send]:
    """Rewrite: overwrite one field of the frame (same length) with ``value``."""

    def rewrite(action: Send) -> Send:
        return dataclasses.replace(action, message=replace_field(action.message, field_name, value))

    return rewrite


def with_run_id(run_id: bytes) -> Callable[[Send], Send]:
    """Rewrite: send the frame with another RunID (the RunID echo bug of field reports)."""
    return with_field("RunID", run_id)


def with_flipped_bytes(offset: int, mask: int = 0xFF) -> Callable[[Send], Send]:
    """Rewrite: XOR one byte of the frame (a corruption the decoder may or may not notice)."""

    def rewrite(action: Send) -> Send:
        frame = bytearray(action.message)
        if offset < len(frame):
            frame[offset] ^= mask
        return dataclasses.replace(action, message=bytes(frame))

    return rewrite
