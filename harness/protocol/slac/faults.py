"""SLAC-specific selectors and rewrites for :mod:`harness.protocol.faults`.

Examples::

    injector = FaultInjector()
    injector.add(Drop(sends("CM_SLAC_MATCH.CNF"), times=None))          # EVSE never answers the match
    injector.add(Rewrite(sends("CM_SLAC_PARM.CNF"), rewrite=with_run_id(bytes(8))))   # RunID echo bug
    injector.add(Rewrite(sends("CM_SLAC_PARM.CNF"), rewrite=with_field("NUM_SOUNDS", b"\\x05")))
    injector.add(Delay(sends("CM_ATTEN_CHAR.IND"), seconds=1.5))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from harness.codec.homeplug import replace_field
from harness.protocol.slac.common import SendFrame, SetKey


def sends(name: str, dst: str | None = None) -> Callable[[object], bool]:
    """Selects the SendFrame actions of SLAC message ``name`` (optionally to ``dst`` only)."""

    def match(action: object) -> bool:
        return isinstance(action, SendFrame) and action.name == name and (dst is None or action.dst == dst)

    return match


def sets_key() -> Callable[[object], bool]:
    """Selects the CM_SET_KEY to the local modem (drop it to model a modem that never joins)."""
    return lambda action: isinstance(action, SetKey)


def with_field(field_name: str, value: bytes) -> Callable[[SendFrame], SendFrame]:
    """Rewrite: overwrite one field of the frame (same length) with ``value``."""

    def rewrite(action: SendFrame) -> SendFrame:
        return dataclasses.replace(action, frame=replace_field(action.frame, field_name, value))

    return rewrite


def with_run_id(run_id: bytes) -> Callable[[SendFrame], SendFrame]:
    """Rewrite: send the frame with another RunID (the RunID echo bug of field reports)."""
    return with_field("RunID", run_id)


def with_flipped_bytes(offset: int, mask: int = 0xFF) -> Callable[[SendFrame], SendFrame]:
    """Rewrite: XOR one byte of the frame (a corruption the decoder may or may not notice)."""

    def rewrite(action: SendFrame) -> SendFrame:
        frame = bytearray(action.frame)
        if offset < len(frame):
            frame[offset] ^= mask
        return dataclasses.replace(action, frame=bytes(frame))

    return rewrite
