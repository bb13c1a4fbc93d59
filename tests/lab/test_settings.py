"""The edge translation: the lab config becomes the plain settings devices and testers take, and the
edge's timer catalogue knows every protocol timer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.devices.catalog import SIM_FAULTS, SIM_ROLES
from harness.devices.sep2.common import PIXIT_PKI_KEY, pki_directory
from harness.devices.settings import DeviceSettings
from harness.lab.config import SimAccess
from harness.lab.loader import LabConfigError, load_lab
from harness.lab.settings import device_settings
from harness.lab.timers import known_timers

LAB = """\
name: bench
dut:
  vendor: x
  model: y
  firmware: "1"
  serial: "2"
  roles: [secc, pfe-server]
  interfaces: [4, 7]
access:
  kind: sim
  faults: [sdp-slow]
pics:
  protocols: [sdp, din70121]
  options:
    sdp.tls: false
    sdp.no_tls: true
pixit:
  timers:
    SDP_RESPONSE_WAIT: {value_s: 0.5, clause: "ISO 15118-2 [V2G2-161]"}
  certificates:
    sep2_pki: pki/lab
    root: /etc/vgi/root.pem
  addresses:
    dut: fe80::2
"""


@pytest.fixture
def lab_file(tmp_path: Path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB, encoding="utf-8")
    return path


def test_timers_carry_the_pixit_overrides_and_every_default(lab_file: Path) -> None:
    settings = device_settings(load_lab(lab_file).config, lab_file.parent)
    assert settings.timer("SDP_RESPONSE_WAIT") == 0.5
    assert set(settings.timers) == set(known_timers())
    din = known_timers()["V2G_EVCC_CommunicationSetup_Timeout"]
    assert settings.timer(din.name) == din.default_s


def test_an_unknown_timer_names_the_command_that_lists_them(lab_file: Path) -> None:
    settings = device_settings(load_lab(lab_file).config, lab_file.parent)
    with pytest.raises(KeyError, match="vgi lab timers"):
        settings.timer("NOT_A_TIMER")


def test_pics_protocols_and_true_options_are_supported(lab_file: Path) -> None:
    settings = device_settings(load_lab(lab_file).config, lab_file.parent)
    assert settings.supports("sdp") and settings.supports("sdp.no_tls")
    assert not settings.supports("sdp.tls")  # stated false
    assert not settings.supports("slac.validate")  # not stated: absent
    assert not settings.supports("slac")


def test_certificates_resolve_against_the_lab_folder(lab_file: Path) -> None:
    settings = device_settings(load_lab(lab_file).config, lab_file.parent)
    assert settings.certificates["sep2_pki"] == lab_file.parent / "pki" / "lab"
    assert settings.certificates["root"] == Path("/etc/vgi/root.pem")
    assert settings.addresses == {"dut": "fe80::2"}
    assert settings.lab_dir == lab_file.parent


def test_the_reference_pki_follows_the_pixit_directory(lab_file: Path) -> None:
    settings = device_settings(load_lab(lab_file).config, lab_file.parent)
    assert pki_directory(settings) == lab_file.parent / "pki" / "lab"
    # Without the PIXIT key the reference devices share a per-user PKI cache.
    assert PIXIT_PKI_KEY not in DeviceSettings().certificates
    assert pki_directory(DeviceSettings()).parts[-2:] == ("vgi", "sep2-pki")


def test_the_lab_validates_sim_faults_and_roles_against_the_device_catalogue(tmp_path: Path) -> None:
    assert SimAccess(kind="sim", faults=sorted(SIM_FAULTS)).faults == sorted(SIM_FAULTS)
    assert load_lab_text(tmp_path, LAB.replace("[secc, pfe-server]", f"[{', '.join(SIM_ROLES)}]"))
    with pytest.raises(LabConfigError, match="unknown fault"):
        load_lab_text(tmp_path, LAB.replace("faults: [sdp-slow]", "faults: [toaster-on-fire]"))


def load_lab_text(tmp_path: Path, text: str) -> object:
    path = tmp_path / "other.yaml"
    path.write_text(text, encoding="utf-8")
    return load_lab(path).config


def test_the_catalogue_knows_every_timer_a_protocol_module_registers() -> None:
    """A fresh interpreter: the timers the edge's catalogue finds equal those registered once every
    module under harness.protocol is imported (a new registering module must be added to the catalogue)."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil
        import harness.protocol
        from harness.lab.timers import known_timers
        from harness.protocol.timers import TIMERS

        catalogue = set(known_timers())
        for module in pkgutil.walk_packages(harness.protocol.__path__, "harness.protocol."):
            importlib.import_module(module.name)
        missing = sorted(set(TIMERS) - catalogue)
        print("missing:", missing)
        raise SystemExit(1 if missing or not catalogue else 0)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
