"""DUT adapters take plain values (the bench reads them from the lab): an external process DUT."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.dut.adapters import DutStartError, ProcessCommand, ProcessDut

SAY_READY = (
    "import os, sys, time; print('up', sys.argv[1:], os.environ['VGI_TEST'], flush=True); time.sleep(60)"
)


def test_a_process_dut_gets_its_placeholders_filled_and_becomes_ready(tmp_path: Path) -> None:
    process = ProcessCommand(
        command=("{python}", "-c", SAY_READY, "{interface}", "{role}", "{lab_dir}"),
        interface="vgi-dut0",
        lab_dir=tmp_path,
        ready_pattern=r"^up ",
        startup_s=10.0,
        env={"VGI_TEST": "from-the-lab"},
    )
    dut = ProcessDut(process, netns=None)
    log = tmp_path / "dut.log"
    dut.start("secc", log)
    assert dut.stop() == str(log)
    text = log.read_text(encoding="utf-8")
    assert f"$ {sys.executable} -c" in text
    assert f"up ['vgi-dut0', 'secc', '{tmp_path}'] from-the-lab" in text


def test_a_process_dut_that_never_says_ready_is_a_start_error(tmp_path: Path) -> None:
    process = ProcessCommand(
        ("{python}", "-c", "import time; time.sleep(60)"), "vgi-dut0", tmp_path, r"^never", startup_s=0.3
    )
    dut = ProcessDut(process, netns=None)
    with pytest.raises(DutStartError, match="not ready after 0.3 s"):
        dut.start("evcc", tmp_path / "dut.log")
    assert dut.stop() is None  # the runner already stopped what it started
