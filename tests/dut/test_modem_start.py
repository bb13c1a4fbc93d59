"""`access.modem: emulated`: the process adapter starts the DUT's emulated modem (`vgi sim modem`) on the
DUT's interface before the DUT, both writing to the DUT log, and stops it after the DUT."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.dut import adapters
from harness.dut.adapters import DutStartError, ProcessCommand, ProcessDut


def _dut(tmp_path: Path, modem: str) -> ProcessDut:
    command = (sys.executable, "-c", "print('READY fake dut', flush=True); import time; time.sleep(30)")
    process = ProcessCommand(
        command, "vgi-dut0", tmp_path, ready_pattern="^READY fake", startup_s=10, modem=modem
    )
    return ProcessDut(process, None)


def test_the_modem_starts_first_on_the_duts_interface_and_stops_last(tmp_path, monkeypatch) -> None:
    started: list[list[str]] = []
    stopped: list[str] = []
    real_spawn, real_stop = adapters._ProcessRunner._spawn, adapters._ProcessRunner.stop

    def spawn(self, argv, log_path, ready, timeout, env=None, append=False):  # type: ignore[no-untyped-def]
        started.append(argv)
        if "modem" in argv:  # stand-in for the modem process (it needs raw sockets)
            argv = [
                sys.executable,
                "-c",
                "print('READY modem role=evse', flush=True); import time; time.sleep(30)",
            ]
        assert append  # modem and DUT share the log
        real_spawn(self, argv, log_path, ready, timeout, env, append)

    def stop(self):  # type: ignore[no-untyped-def]
        stopped.append("modem" if self is not dut else "dut")
        return real_stop(self)

    monkeypatch.setattr(adapters._ProcessRunner, "_spawn", spawn)
    monkeypatch.setattr(adapters._ProcessRunner, "stop", stop)
    dut = _dut(tmp_path, "emulated")
    log = tmp_path / "logs" / "dut.log"
    dut.start("evse", log)
    assert started[0][-6:] == ["sim", "modem", "--role", "evse", "--interface", "vgi-dut0"]
    assert "READY fake dut" not in " ".join(started[0])
    dut.stop()
    assert stopped == ["dut", "modem"]
    text = log.read_text()
    assert "READY modem" in text and "READY fake dut" in text


def test_a_modem_that_does_not_start_is_a_start_error(tmp_path, monkeypatch) -> None:
    def spawn(self, argv, log_path, ready, timeout, env=None, append=False):  # type: ignore[no-untyped-def]
        raise DutStartError("DUT exited with status 1 during start-up")

    monkeypatch.setattr(adapters._ProcessRunner, "_spawn", spawn)
    with pytest.raises(DutStartError, match="emulated modem"):
        _dut(tmp_path, "emulated").start("evse", tmp_path / "dut.log")
