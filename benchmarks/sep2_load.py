"""What the IEEE 2030.5 server benchmarks share: a server in a process of its own, N clients polling it
over mutual TLS on loopback, and the figures of one measurement.

A *poll* is a tuple of paths a client fetches back to back on its persistent connection; each client
cycles through its list of polls until the deadline, and the latency of each poll is recorded.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

# Bound on one client's polls, so a run is bounded in work as well as in time.
MAX_POLLS_PER_CLIENT = 200_000
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 5.0
# What a client cycles through: polls, each a tuple of paths fetched back to back.
Polls = Sequence[tuple[str, ...]]
TABLE_HEADER = "| clients | mix | polls | seconds | polls/s | p50 ms | p99 ms | errors |"


@dataclass
class Result:
    clients: int
    mix: str
    polls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.polls / self.seconds if self.seconds else 0.0

    def row(self, *extra: str) -> str:
        cells = (
            f"{self.clients}",
            self.mix,
            f"{self.polls}",
            f"{self.seconds:.1f}",
            f"{self.rate:.0f}",
            f"{self.p50_ms:.2f}",
            f"{self.p99_ms:.2f}",
            f"{self.errors}",
            *extra,
        )
        return "| " + " | ".join(cells) + " |"


async def _client(port: int, polls: Polls, deadline: float, latencies: list[float]) -> int:
    from harness.devices.sep2.common import client_tls
    from harness.transport.http import Sep2HttpClient

    errors = 0
    client = Sep2HttpClient("127.0.0.1", port, client_tls("ev"))
    await client.connect()
    try:
        for n in range(MAX_POLLS_PER_CLIENT):
            if time.perf_counter() >= deadline:
                break
            start = time.perf_counter()
            for path in polls[n % len(polls)]:
                response = await client.get(path)
                errors += response.status != 200
            latencies.append(time.perf_counter() - start)
    finally:
        await client.close()
    return errors


async def _measure(port: int, clients: int, mix: str, polls: Polls, seconds: float) -> Result:
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    errors = await asyncio.gather(*(_client(port, polls, deadline, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return Result(
        clients,
        mix,
        len(latencies),
        elapsed,
        statistics.median(ordered) * 1000 if ordered else 0.0,
        p99 * 1000,
        sum(errors),
    )


def measure(port: int, clients: int, mix: str, polls: Polls, seconds: float) -> Result:
    """``clients`` concurrent clients cycling through ``polls`` for ``seconds``."""
    return asyncio.run(_measure(port, clients, mix, polls, seconds))


@contextmanager
def server_process(serve: Callable[..., None], *args: object, what: str) -> Iterator[multiprocessing.Process]:
    """Run ``serve(*args, ready)`` in a process of its own (as `vgi sim` would) for the ``with`` body,
    which gets the process (its pid, for a soak that samples it)."""
    from harness.devices.sep2.common import ensure_pki, pki_directory

    ensure_pki(pki_directory())
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(*args, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(SERVER_START_TIMEOUT_S):
            raise SystemExit(f"the {what} did not start")
        yield server
    finally:
        server.terminate()
        server.join(SERVER_STOP_TIMEOUT_S)
