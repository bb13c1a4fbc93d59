"""Kernel receive timestamps (SO_TIMESTAMPNS) for the harness's own sockets: the time a frame
reached the host, close to what a capture records, rather than when Python got round to it."""

from __future__ import annotations

import socket
import struct
import time

# Linux asm-generic/socket.h: SO_TIMESTAMPNS (= SCM_TIMESTAMPNS) is 35; Python 3.11 does not export it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")
ANCILLARY_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


def enable_timestamps(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def receive_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive time from recvmsg's ancillary data (now, if the kernel gave none)."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(value)
            return seconds + nanoseconds / 1e9
    return time.time()
