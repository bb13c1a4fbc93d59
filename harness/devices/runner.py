"""Run one reference device until it finishes or is told to stop (SIGINT/SIGTERM)."""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections.abc import Awaitable, Callable

from harness.devices.catalog import resolve
from harness.lab.config import LabConfig
from harness.transport.link import Link

DeviceMain = Callable[[Link, LabConfig, frozenset[str]], Awaitable[None]]


def device_main(role: str, service: str | None = None) -> DeviceMain:
    module_name, _, function = resolve(role, service).partition(":")
    return getattr(importlib.import_module(module_name), function)


async def _run(role: str, service: str | None, link: Link, lab: LabConfig, faults: frozenset[str]) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(device_main(role, service)(link, lab, faults))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass


def run_device(
    role: str, link: Link, lab: LabConfig, faults: frozenset[str], service: str | None = None
) -> None:
    asyncio.run(_run(role, service, link, lab, faults))
