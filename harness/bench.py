"""The test bench of one run: the link between tester and DUT, the DUT adapter, the capture
backend and the event loop the tester roles run on.

The bench is at the edge: it holds the loaded lab and translates it once into the plain settings the
tester roles take (:attr:`Bench.settings`), and into the plain values the DUT adapters take."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.devices.settings import DeviceSettings
from harness.dut.adapters import (
    ACK_FILE_ENV,
    DutAdapter,
    ExternalDut,
    ManualDut,
    OperatorSettings,
    ProcessCommand,
    ProcessDut,
    SimDut,
)
from harness.lab.loader import LoadedLab
from harness.lab.settings import device_settings
from harness.transport.link import LOOPBACK_ADDRESS, Link, link_on_interface
from harness.transport.netns import VethLink, can_use_netns, create_veth_link, destroy_veth_link

T = TypeVar("T")


class BenchError(RuntimeError):
    pass


@dataclass
class Bench:
    lab: LoadedLab
    link: Link  # the tester's side
    dut: DutAdapter
    veth: VethLink | None
    capture_interface: str
    # what tester roles read from the lab (timers with PIXIT overrides, PICS, certificates)
    settings: DeviceSettings = field(init=False)

    @classmethod
    def open(cls, lab: LoadedLab, station: str | None = None) -> Bench:
        """The bench of ``lab`` (as its station ``station`` sees it, for a lab that has stations)."""
        _check_certificates(lab)  # before anything is created that would need tearing down
        access = lab.config.access
        mode = lab.config.network.mode
        if access.kind in ("sim", "process"):
            use_netns = mode == "netns" or (mode == "auto" and can_use_netns())
            if use_netns and not can_use_netns():
                raise BenchError(
                    "network.mode is netns but this process may not create namespaces (run as root)"
                )
            veth = None
            if use_netns:
                if access.kind == "process":
                    veth = create_veth_link(dut_interface=access.interface, netns=_netns_name(access.netns))
                else:
                    veth = create_veth_link()
                link = Link(
                    "netns",
                    veth.tester_interface,
                    veth.tester_address,
                    veth.dut_address,
                    veth.netns,
                    "tester and DUT on a veth pair between network namespaces, IPv6 link-local",
                )
                dut_if, netns = veth.dut_interface, veth.netns
            else:
                reason = "not root" if not can_use_netns() else "network.mode is loopback"
                link = Link(
                    "loopback",
                    "lo",
                    LOOPBACK_ADDRESS,
                    LOOPBACK_ADDRESS,
                    None,
                    f"loopback ::1 ({reason}): SDP goes unicast to ::1 instead of multicast to ff02::1",
                )
                dut_if, netns = "lo", None
            dut: DutAdapter
            if access.kind == "sim":
                dut = SimDut(lab.path, dut_if, netns)
            else:
                process = ProcessCommand(
                    tuple(access.command),
                    access.interface,
                    lab.path.parent,
                    access.ready_pattern,
                    access.startup_s,
                    dict(access.env),
                    placeholders=_sep2_placeholders(lab, link, dut_if),
                    modem=access.modem,
                )
                dut = ProcessDut(process, netns)
            return cls(lab, link, dut, veth, link.interface)
        link = link_on_interface(access.interface)
        if access.kind == "manual":
            operator = OperatorSettings(access.interface, access.ack_timeout_s, dict(access.instructions))
            return cls(lab, link, ManualDut(operator, _station_ack_file(station)), None, access.interface)
        return cls(lab, link, ExternalDut(access.kind), None, access.interface)

    def __post_init__(self) -> None:
        self.settings = device_settings(self.lab.config, self.lab.path.parent)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vgi-tester-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a tester coroutine on the bench's loop and wait for it."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise BenchError(f"tester operation did not finish within {timeout} s") from None
        except BaseException:
            future.cancel()
            raise

    @property
    def sync_target(self) -> tuple[str, int, int, int]:
        """Where capture sync markers go: the link's all-nodes group (::1 on loopback), discard port."""
        from capture.live import SYNC_MARKER_PORT

        return self.link.sockaddr(self.link.sdp_destination, SYNC_MARKER_PORT)

    @property
    def tester_addresses(self) -> list[str]:
        """Addresses only the tester uses; none on loopback, where tester and DUT share ::1 (the
        scenario then names the tester's ports, see ScenarioRun.claim_port)."""
        return [] if self.link.mode == "loopback" else [self.link.address]

    def close(self) -> None:
        self.dut.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)
        if self.veth is not None:
            destroy_veth_link(self.veth)
            self.veth = None


def _netns_name(configured: str) -> str:
    """The DUT namespace of a process DUT: the configured name, with the worker's id appended in a
    parallel run (``vgi-josev-secc-gw1``), where each worker starts a DUT process of its own."""
    from harness.workers import worker_id

    worker = worker_id()
    return f"{configured}-{worker}" if worker else configured


def _station_ack_file(station: str | None) -> Path | None:
    """A station's own acknowledgement file, ``<ack file>.<station>`` (its prompt in ``.prompt`` beside
    it): the operators or rigs of two units must not answer each other's prompts.  None: the lab has no
    stations, or the run no acknowledgement file; the adapter then reads the environment itself."""
    value = os.environ.get(ACK_FILE_ENV)
    return Path(f"{value}.{station}") if station and value else None


def _sep2_placeholders(lab: LoadedLab, link: Link, dut_interface: str):  # type: ignore[no-untyped-def]
    """The IEEE 2030.5 placeholders of a process DUT's command ({pki_dir}, {dut_cert}, {dut_key},
    {trust_anchor}, {dut_lfdi}, {dut_sfdi}, {tester_host}, {tester_port}, {dcap_url}) per role."""

    def values(role: str, argv: tuple[str, ...]) -> dict[str, str]:
        from harness.devices.sep2.common import process_placeholders

        settings = device_settings(lab.config, lab.path.parent)
        return process_placeholders(role, argv, settings, link, dut_interface)

    return values


def _check_certificates(lab: LoadedLab) -> None:
    """PIXIT dut_cert, dut_key, trust_anchor, tester_cert, tester_key: exist, parse, keys match."""
    from harness.pki.store import PkiError, check_lab_certificates

    try:
        check_lab_certificates(device_settings(lab.config, lab.path.parent).certificates)
    except PkiError as exc:
        raise BenchError(f"lab {lab.path.name}: {exc}") from None
