"""`vgi exi decode|encode`: one output line per input, bad lines reported in place, exit 0."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harness.cli import main

APP_RES_HEX = "80400040"
APP_RES = {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}
DIN_SERVICE_DISCOVERY_REQ_HEX = "809a0223e95ff78afebf9e1198"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    status = main(list(argv))
    return status, capsys.readouterr().out.splitlines()


def test_decode_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = _run(capsys, "exi", "decode", "--schema", "app", APP_RES_HEX, "8080")
    assert status == 0
    assert json.loads(lines[0]) == APP_RES
    err = json.loads(lines[1])
    assert set(err) == {"error", "offset_bits"} and err["offset_bits"] > 0


def test_encode_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = _run(capsys, "exi", "encode", "-s", "app", json.dumps(APP_RES))
    assert (status, lines) == (0, [APP_RES_HEX])


def test_decode_batch_with_bad_lines_in_the_middle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.txt"
    batch.write_text(f"{DIN_SERVICE_DISCOVERY_REQ_HEX}\nnot-hex\n81\n{DIN_SERVICE_DISCOVERY_REQ_HEX}00\n")
    status, lines = _run(capsys, "exi", "decode", "--schema", "din", "--batch", str(batch))
    assert status == 0
    assert len(lines) == 4
    first, bad_hex, bad_header, last = (json.loads(line) for line in lines)
    assert first["V2G_Message"]["Body"] == {"ServiceDiscoveryReq": {}}
    assert bad_hex == {"error": "input is not hex", "offset_bits": 0}
    assert bad_header["offset_bits"] == 0 and "0x80" in bad_header["error"]
    assert last == first  # a trailing zero byte is ignored


def test_encode_batch_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bad_enum = {"supportedAppProtocolRes": {"ResponseCode": "Nope", "SchemaID": 1}}
    stdin = "\n".join([json.dumps(APP_RES), "{oops", json.dumps(bad_enum), json.dumps(APP_RES)]) + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status, lines = _run(capsys, "exi", "encode", "--schema", "app", "--batch", "-")
    assert status == 0
    assert lines[0] == APP_RES_HEX and lines[3] == APP_RES_HEX
    assert json.loads(lines[1])["path"] == ""
    assert json.loads(lines[2]) == {
        "error": "'Nope' is not one of OK_SuccessfulNegotiation, OK_SuccessfulNegotiationWithMinorDeviation, "
        "Failed_NoNegotiation",
        "path": "supportedAppProtocolRes.ResponseCode",
    }


def test_usage_errors_exit_non_zero(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["exi", "decode", "--schema", "din"]) == 2
    assert main(["exi", "decode", "--schema", "din", "--batch", str(tmp_path / "missing")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["exi", "decode", "--schema", "nope", "80"])
    assert exc.value.code == 2
