"""What IEEE 2030.5 client scenarios share (steps/sep2.py for AC charging, steps/der.py for DER): the
tester's server started for the scenario and closed after it, and waiting on what the DUT does.

No steps here: plain functions the step modules call.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.devices.sep2.common import SEP2_PORT
from harness.scenario import ScenarioRun, required
from harness.testers.sep2 import EvseBridge, Sep2ServerTester

# Bound on starting the tester's server (TLS context, listening socket, the bridge's namespace).
SERVER_START_TIMEOUT_S = 20.0
# Bound on closing the tester's server (its connections are cancelled, each closes within 1 s).
SERVER_CLOSE_TIMEOUT_S = 30.0
# Margin on top of a tester wait for the bench's own thread hand-over.
BENCH_MARGIN_S = 5.0


def server(run: ScenarioRun) -> Sep2ServerTester:
    return required(run.sep2.server, "IEEE 2030.5 tester server")


def start_server(
    run: ScenarioRun,
    role: str,
    tariff: str = "tou",
    fault: str | None = None,
    bridged: bool = False,
    *,
    der: bool = False,
    site_max_export_w: float | None = None,
) -> Sep2ServerTester:
    """Start the tester's server for the scenario (closed when it ends); ``bridged``: behind the
    reference EVSE bridge (interface 1); ``der``: serving a DER site too."""
    extra = {} if site_max_export_w is None else {"site_max_export_w": site_max_export_w}
    tester = Sep2ServerTester(
        run.bench.link, run.bench.settings, run.keylog_path, role, fault, tariff, der=der, **extra
    )
    if bridged and run.bench.link.mode == "netns":
        # Interface 1: the EV reaches the BMS through the reference EVSE bridge (site namespace).
        bridge = EvseBridge(run.bench.link)
        run.cleanups.append(bridge.destroy)
        bridge.open_site()
        tester.bridge = bridge
    run.bench.run(tester.start(), SERVER_START_TIMEOUT_S)
    run.claim_port(SEP2_PORT)
    run.sep2.server = tester
    run.cleanups.append(lambda: run.bench.run(tester.close(), SERVER_CLOSE_TIMEOUT_S))
    return tester


def wait_until(run: ScenarioRun, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Wait until ``predicate()`` holds (the DUT did something) or ``timeout_s`` passes."""
    tester = server(run)
    return bool(run.bench.run(tester.wait_for(predicate, timeout_s), timeout_s + BENCH_MARGIN_S))
