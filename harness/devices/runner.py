"""Run one reference device until it finishes or is told to stop (SIGINT/SIGTERM)."""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections.abc import Awaitable, Callable

from harness.devices.catalog import resolve
from harness.devices.settings import DeviceSettings
from harness.transport.link import Link

# Every reference device's entry point: the link it serves on, the plain settings the edge translated
# from the lab config (harness.lab.settings.device_settings), and the fault switches that are on.
DeviceMain = Callable[[Link, DeviceSettings, frozenset[str]], Awaitable[None]]


def device_main(role: str, service: str | None = None) -> DeviceMain:
    module_name, _, function = resolve(role, service).partition(":")
    return getattr(importlib.import_module(module_name), function)


async def _run(
    role: str, service: str | None, link: Link, settings: DeviceSettings, faults: frozenset[str]
) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(device_main(role, service)(link, settings, faults))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass


def run_device(
    role: str, link: Link, settings: DeviceSettings, faults: frozenset[str], service: str | None = None
) -> None:
    asyncio.run(_run(role, service, link, settings, faults))
