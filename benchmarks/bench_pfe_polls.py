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

from sep2_load import TABLE_HEADER, measure, server_process

DEFAULT_SECONDS = 5.0
BENCH_PORT = 18443
# Paths the EV polls each cycle (harness.devices.sep2.clients); here each request is one "poll".
EV_MIX = (("/tm",), ("/dr/1/edc",), ("/tp/1/rc/1/tti",))
TIME_ONLY = (("/tm",),)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--port", type=int, default=BENCH_PORT)
    args = parser.parse_args()
    with server_process(_serve, args.port, what="PFE server"):
        print(TABLE_HEADER)
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for clients in args.clients:
            for mix, polls in (("time only", TIME_ONLY), ("EV mix", EV_MIX)):
                print(measure(args.port, clients, mix, polls, args.seconds).row(), flush=True)


if __name__ == "__main__":
    main()
