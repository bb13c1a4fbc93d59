"""The tester's DER client: what it reports of its engine, and that stopping it really stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.devices.settings import DeviceSettings
from harness.testers.der_client import DerClientTester
from harness.transport.link import Link


def _tester() -> DerClientTester:
    return DerClientTester(Link("loopback", "lo", "::1"), DeviceSettings(sep2_clock_speedup=120.0), Path("k"))


def test_a_fresh_client_follows_nothing_and_has_seen_no_change():
    tester = _tester()
    assert not tester.following()
    assert tester.seen() == []
    assert tester.settled()


def test_stop_repeats_a_cancellation_the_client_swallowed():
    # Python 3.11's asyncio.wait_for may lose a cancellation; a client that lost one must still stop.
    async def scenario() -> bool:
        async def swallows_once() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass
            await asyncio.sleep(3600)

        tester = _tester()
        task = asyncio.create_task(swallows_once())
        tester._task = task  # noqa: SLF001 - the task start() would have made
        await asyncio.sleep(0)
        await tester.stop()
        return task.done()

    assert asyncio.run(scenario())
