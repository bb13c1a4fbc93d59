"""`manual` access: prompts that say what to do and what the harness waits for, acknowledged from a
file (scripted rigs), ending INCONCLUSIVE with a reason on timeout or abort."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness.dut.adapters import (
    ACK_FILE_ENV,
    PROMPT_SUFFIX,
    DutStartError,
    ManualDut,
    OperatorSettings,
    operator_prompt,
    wait_for_ack,
)

SETTINGS = OperatorSettings(
    "eth1", 5.0, {"evse": "switch the station on at breaker 2, then plug the test cable into socket B"}
)


def test_prompt_says_what_to_do_and_what_is_awaited():
    text = operator_prompt(SETTINGS, "evse", "slac")
    assert "switch the station on at breaker 2" in text  # the lab's own words for the role
    assert "CM_SLAC_PARM" in text and "eth1" in text  # what the harness then waits for
    assert ACK_FILE_ENV in text and "5 s" in text
    generic = operator_prompt(SETTINGS, "evcc")
    assert "charging cable" in generic and "SDP request" in generic
    scripted = operator_prompt(SETTINGS, "evse", "slac", Path("/run/rig/ack"))
    assert "write 'ok' to /run/rig/ack;" in scripted  # the run's own file, not the variable's name


def test_ack_file_is_consumed(tmp_path):
    ack = tmp_path / "ack"
    ack.write_text("ok\n")
    assert wait_for_ack(ack, 5.0) == "ok"
    assert not ack.exists()


def test_no_answer_is_none(tmp_path):
    assert wait_for_ack(tmp_path / "never", 0.05) is None


def _acknowledge_when_prompted(ack: Path, answer: str) -> threading.Thread:
    """A scripted rig: wait for the prompt file, then write the answer."""
    prompt = ack.with_name(ack.name + PROMPT_SUFFIX)
    seen = threading.Event()

    def rig() -> None:
        for _ in range(500):
            if prompt.exists():
                seen.set()
                ack.write_text(answer)
                return
            threading.Event().wait(0.01)

    thread = threading.Thread(target=rig, daemon=True)
    thread.start()
    thread.seen = seen  # type: ignore[attr-defined]
    return thread


def test_scripted_rig_acknowledges(tmp_path):
    ack = tmp_path / "ack"
    ack.write_text("ok")  # stale: written before the prompt, must not answer it
    dut = ManualDut(SETTINGS, ack_file=ack)
    rig = _acknowledge_when_prompted(ack, "ok")
    dut.start("evse", tmp_path / "logs" / "dut.log", "slac")
    rig.join(5)
    assert rig.seen.is_set()  # type: ignore[attr-defined]
    log = Path(dut.stop() or "").read_text()
    assert "prompt: Operator, EVSE under test" in log and "answer: 'ok'" in log
    assert not ack.with_name("ack" + PROMPT_SUFFIX).exists()


def test_abort_is_inconclusive_with_the_reason(tmp_path):
    ack = tmp_path / "ack"
    rig = _acknowledge_when_prompted(ack, "abort station shows fault E12")
    with pytest.raises(DutStartError, match=r"operator aborted \(station shows fault E12\)"):
        ManualDut(SETTINGS, ack_file=ack).start("evse", tmp_path / "dut.log")
    rig.join(5)


def test_timeout_is_inconclusive_with_the_prompt(tmp_path, monkeypatch):
    monkeypatch.setenv(ACK_FILE_ENV, str(tmp_path / "ack"))
    quick = OperatorSettings("eth1", 0.05)
    with pytest.raises(DutStartError) as info:
        ManualDut(quick).start("secc", tmp_path / "dut.log")
    message = str(info.value)
    assert "no operator acknowledgement within 0.05 s (access.ack_timeout_s)" in message
    assert "power the charger on" in message
