"""Answered DER polls per second of the reference DER server over TLS, against a baseline in the same run.

A DER poll is what a DER client (the EV's inverter) fetches each pollRate (README AC DER "EV DER
behaviour"): Time, the DERProgramList, its program, that program's DefaultDERControl and its
DERControlList.  N concurrent clients on loopback, each on its own persistent mutual-TLS connection
(TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, lab PKI device certificates), poll back to back; the
run is bounded in polls and in time.  The server (Sep2Server with a DerSite: the J3072 program and a
utility program with a default and ``--controls`` scheduled controls) runs in a process of its own,
as `vgi sim pfe-server` would.

Baseline, measured in the same run against the same server: polls of the same number of requests
that fetch Time only (the cheapest resource), so the cost of the DER tree shows as a ratio against
the cost of TLS + HTTP.  Only ratios are meant to be compared across machines.

    .venv/bin/python benchmarks/bench_der_server.py --clients 1 8 32 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing

from sep2_load import TABLE_HEADER, measure, server_process

DEFAULT_SECONDS = 5.0
BENCH_PORT = 18444
# Scheduled controls published in the polled program.
DEFAULT_CONTROLS = 3
# The utility program the bench polls (program 1 is the J3072 program).
PROGRAM = 2
DER_POLL = ("/tm", "/derp", f"/derp/{PROGRAM}", f"/derp/{PROGRAM}/dderc", f"/derp/{PROGRAM}/derc")
BASELINE_POLL = ("/tm",) * len(DER_POLL)
# The published controls: one every 20 server minutes, each 10 minutes long.
CONTROL_SPACING_S = 1200
CONTROL_DURATION_S = 600


def _serve(port: int, controls: int, ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    from harness.devices.sep2.common import DER_SIM_SPEEDUP, SimClock, server_tls
    from harness.devices.sep2.der_site import DerSite
    from harness.devices.sep2.pfe import Sep2Server
    from harness.devices.sep2.servers import registered_devices
    from harness.transport.http import Sep2HttpServer

    async def main() -> None:
        clock = SimClock(speedup=DER_SIM_SPEEDUP)
        der = DerSite(clock)
        program = der.add_program(10, "utility", {"opModMaxLimW": 10000})
        assert program == PROGRAM
        for n in range(controls):
            start = der.now() + (n + 1) * CONTROL_SPACING_S
            der.publish(program, start=start, duration=CONTROL_DURATION_S, modes={"opModFixedW": 5000})
        site = Sep2Server(clock, registered_devices(None), der=der)
        server = Sep2HttpServer(site.handle, server_tls("pfe-server"), host="127.0.0.1", port=port)
        await server.start()
        ready.set()  # type: ignore[attr-defined]
        await asyncio.Event().wait()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--controls", type=int, default=DEFAULT_CONTROLS)
    parser.add_argument("--port", type=int, default=BENCH_PORT)
    args = parser.parse_args()
    with server_process(_serve, args.port, args.controls, what="DER server"):
        print(f"DER poll: {', '.join(DER_POLL)}; {args.controls} controls in program {PROGRAM}")
        print(TABLE_HEADER[:-1] + "| DER / baseline |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for clients in args.clients:
            baseline = measure(args.port, clients, "baseline (Time x5)", (BASELINE_POLL,), args.seconds)
            der = measure(args.port, clients, "DER poll", (DER_POLL,), args.seconds)
            ratio = f"{der.rate / baseline.rate:.2f}" if baseline.rate else "n/a"
            print(baseline.row(""), flush=True)
            print(der.row(ratio), flush=True)


if __name__ == "__main__":
    main()
