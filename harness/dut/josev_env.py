"""A private virtual environment with josev (iso15118 0.31.2), for interop tests and as a DUT.

josev pins pydantic 1 and imports ``aiofile`` without declaring it, so it cannot live in the harness's
own environment.  ``josev_python()`` builds (once, through :mod:`harness.dut.private_venv`) a separate
venv under ``~/.cache/vgi/josev-0.31.2/`` and returns its interpreter; a venv that fails its import check
is rebuilt.  ``JosevExiBridge`` drives josev's EXI codec (EXIficient through py4j, Java 17) from that
interpreter over a line-based JSON pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.dut.private_venv import PrivateVenv, PrivateVenvError, venv_python

JOSEV_VERSION = "0.31.2"
# josev imports aiofile without declaring it (iso15118 0.31.2 packaging bug).
JOSEV_EXTRA_PACKAGES = ("aiofile",)
# What must import for the venv to count as healthy.
IMPORT_CHECK = "import iso15118.shared.exificient_exi_codec, py4j, aiofile"


class JosevEnvError(PrivateVenvError):
    """The josev environment could not be built or used; the message says what to install or fix."""


VENV = PrivateVenv(
    cache_name=f"josev-{JOSEV_VERSION}",
    requirements=(f"iso15118=={JOSEV_VERSION}", *JOSEV_EXTRA_PACKAGES),
    import_check=IMPORT_CHECK,
    install_hint=(
        "needs PyPI; a DUT's network namespace has none: build it first with "
        "`python -m harness.dut.josev_env`"
    ),
    error=JosevEnvError,
)
CACHE_DIR = VENV.default_cache_dir()


def java_path() -> str:
    java = shutil.which("java")
    if java is None:
        raise JosevEnvError("java not found on PATH: josev's EXI codec (EXIficient) needs Java 17")
    return java


def josev_python(cache_dir: Path = CACHE_DIR) -> Path:
    """The python of a venv with iso15118==0.31.2 and aiofile; built on first use, rebuilt if broken."""
    return venv_python(VENV, cache_dir)


# Runs inside the josev venv: one JSON request per line on stdin, one JSON answer per line on stdout.
_BRIDGE_SCRIPT = r"""
import base64, json, sys, time, statistics
from iso15118.shared.exificient_exi_codec import ExificientEXICodec
codec = ExificientEXICodec()
out = sys.stdout
out.write(json.dumps({"ready": codec.get_version()}) + "\n"); out.flush()
for line in sys.stdin:
    req = json.loads(line)
    try:
        op = req["op"]
        if op == "encode":
            res = {"exi": bytes(codec.encode(req["json"], req["ns"])).hex()}
        elif op == "decode":
            res = {"json": codec.decode(bytes.fromhex(req["exi"]), req["ns"])}
        elif op == "bench":
            data = bytes.fromhex(req["exi"]); text = req["json"]; ns = req["ns"]
            dec, enc = [], []
            for _ in range(req["n"]):
                t0 = time.perf_counter(); codec.decode(data, ns); t1 = time.perf_counter()
                codec.encode(text, ns); t2 = time.perf_counter()
                dec.append(t1 - t0); enc.append(t2 - t1)
            res = {"decode_us": statistics.median(dec) * 1e6, "encode_us": statistics.median(enc) * 1e6}
        else:
            res = {"error": "unknown op " + str(op)}
    except Exception as exc:
        res = {"error": type(exc).__name__ + ": " + str(exc)}
    out.write(json.dumps(res) + "\n"); out.flush()
"""


class JosevExiBridge:
    """josev's EXIficient codec in a child process; ``encode``/``decode`` work at the JSON-string level."""

    def __init__(self, python: Path | None = None) -> None:
        java_path()
        self.python = python or josev_python()
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [str(self.python), "-c", _BRIDGE_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        hello = self._read()
        if "ready" not in hello:
            raise JosevEnvError(f"josev EXI bridge did not start: {hello}")
        self.version = hello["ready"]

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise JosevEnvError(f"josev EXI bridge exited: {err.strip()[-2000:]}")
        return json.loads(line)

    def _call(self, **req) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def encode(self, msg: dict, namespace: str) -> bytes:
        res = self._call(op="encode", json=json.dumps(msg), ns=namespace)
        if "error" in res:
            raise JosevEnvError(f"josev encode failed: {res['error']}")
        return bytes.fromhex(res["exi"])

    def decode(self, data: bytes, namespace: str) -> dict:
        res = self._call(op="decode", exi=data.hex(), ns=namespace)
        if "error" in res:
            raise JosevEnvError(f"josev decode failed: {res['error']}")
        return json.loads(res["json"])

    def bench(self, data: bytes, msg: dict, namespace: str, n: int) -> tuple[float, float]:
        """Median microseconds (decode, encode) measured inside josev's process, py4j included."""
        res = self._call(op="bench", exi=data.hex(), json=json.dumps(msg), ns=namespace, n=n)
        if "error" in res:
            raise JosevEnvError(f"josev bench failed: {res['error']}")
        return res["decode_us"], res["encode_us"]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> JosevExiBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    print(josev_python())
    sys.exit(0)
