"""Sustained polls per second of the reference PFE server over TLS, and its p99 latency.

N concurrent clients on loopback, each with its own persistent mutual-TLS connection (TLS 1.2,
TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, device certificates of the lab PKI), poll a mix of the resources
an EV polls (Time, the EndDeviceControl list, the TimeTariffInterval list) back to back.  The run is
bounded both in requests and in time.  The server runs in a process of its own (as `vgi sim
pfe-server` would), so client and server do not share one event loop.

Baseline measured in the same run: the same clients polling Time only, the cheapest resource, so
the cost of the resource tree is visible against the cost of TLS + HTTP.

    .venv/bin/python benchmarks/bench_pfe_polls.py --clients 1 8 32 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from dataclasses import dataclass

# Bounds of one measurement: whichever comes first.
DEFAULT_SECONDS = 5.0
MAX_REQUESTS_PER_CLIENT = 200_000
BENCH_PORT = 18443
# Paths the EV polls each cycle (harness.devices.sep2.clients).
EV_MIX = ("/tm", "/dr/1/edc", "/tp/1/rc/1/tti")
TIME_ONLY = ("/tm",)
SERVER_START_TIMEOUT_S = 30.0


def _serve(port: int, ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    from harness.devices.sep2.common import SimClock, server_tls
    from harness.devices.sep2.pfe import Sep2Server
    from harness.devices.sep2.servers import registered_devices
    from harness.transport.http import Sep2HttpServer

    async def main() -> None:
        site = Sep2Server(SimClock(), registered_devices(None))  # type: ignore[arg-type]
        server = Sep2HttpServer(site.handle, server_tls("pfe-server"), host="127.0.0.1", port=port)
        await server.start()
        ready.set()  # type: ignore[attr-defined]
        await asyncio.Event().wait()

    asyncio.run(main())


@dataclass
class Result:
    clients: int
    mix: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _client(port: int, paths: tuple[str, ...], deadline: float, latencies: list[float]) -> int:
    from harness.devices.sep2.common import client_tls
    from harness.transport.http import Sep2HttpClient

    errors = 0
    client = Sep2HttpClient("127.0.0.1", port, client_tls("ev"))
    await client.connect()
    try:
        for n in range(MAX_REQUESTS_PER_CLIENT):
            if time.perf_counter() >= deadline:
                break
            start = time.perf_counter()
            response = await client.get(paths[n % len(paths)])
            latencies.append(time.perf_counter() - start)
            errors += response.status != 200
    finally:
        await client.close()
    return errors


async def _measure(port: int, clients: int, paths: tuple[str, ...], seconds: float) -> Result:
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    errors = await asyncio.gather(*(_client(port, paths, deadline, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return Result(
        clients,
        "time only" if paths == TIME_ONLY else "EV mix",
        len(latencies),
        elapsed,
        statistics.median(ordered) * 1000 if ordered else 0.0,
        p99 * 1000,
        sum(errors),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--port", type=int, default=BENCH_PORT)
    args = parser.parse_args()
    from harness.devices.sep2.common import ensure_pki, pki_directory

    ensure_pki(pki_directory())
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(args.port, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(SERVER_START_TIMEOUT_S):
            raise SystemExit("the PFE server did not start")
        print("| clients | mix | requests | seconds | polls/s | p50 ms | p99 ms | errors |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for clients in args.clients:
            for paths in (TIME_ONLY, EV_MIX):
                result = asyncio.run(_measure(args.port, clients, paths, args.seconds))
                print(
                    f"| {result.clients} | {result.mix} | {result.requests} | {result.seconds:.1f} | "
                    f"{result.rate:.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | {result.errors} |",
                    flush=True,
                )
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
