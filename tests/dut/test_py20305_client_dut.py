"""The py20305 DER client launcher's configuration file: what it tells the client (discovery on, no server
URL, the lab's certificate, key and trust anchor, the inverter connector), checked against the client's own
configuration model, and how it re-executes itself in the client's venv."""

from __future__ import annotations

from pathlib import Path

import pytest
from py20305.config import ClientConfig, load_config
from py20305.security import compute_lfdi

from harness.dut import py20305_client_dut as launcher
from harness.dut import py20305_client_env as env
from harness.pki.hierarchy import init_pki
from harness.pki.store import load_identity


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory, ("ev",))
    return directory


def _argv(pki: Path, *extra: str) -> list[str]:
    ev = load_identity(pki, "ev")
    return [
        "--interface",
        "vgi-dut0",
        "--cert",
        str(ev.chain_path),
        "--key",
        str(ev.key_path),
        "--trust-anchor",
        str(ev.trust_anchor_path),
        *extra,
    ]


def _config(pki: Path, *extra: str) -> dict:
    return launcher.client_config(launcher.parser().parse_args(_argv(pki, *extra)))


def test_the_client_gets_no_server_url_and_finds_the_server_by_dnssd_on_the_duts_interface(pki: Path) -> None:
    config = _config(pki)
    assert "url" not in config["server"]
    assert config["discovery"] == {
        "enabled": True,
        "transport": "mdns",
        "interface": "vgi-dut0",
        "timeout_seconds": launcher.DISCOVERY_TIMEOUT_S,
    }
    parsed = ClientConfig.model_validate(config)
    assert parsed.server.url is None and parsed.discovery.enabled


def test_the_lab_pki_certificate_key_and_trust_anchor_go_to_the_client(pki: Path) -> None:
    ev = load_identity(pki, "ev")
    tls = _config(pki)["tls"]
    assert Path(tls["client_cert"]) == ev.chain_path.resolve()
    assert Path(tls["client_key"]) == ev.key_path.resolve()
    assert Path(tls["ca_cert"]) == ev.trust_anchor_path.resolve()
    assert tls["check_hostname"] is False  # 2030.5 device certificates carry no DNS names


def test_the_device_is_the_inverter_connector_under_the_certificates_own_lfdi(pki: Path) -> None:
    ev = load_identity(pki, "ev")
    (device,) = _config(pki)["devices"]
    assert device["type"] == "custom"
    assert device["class_path"] == launcher.CONNECTOR_CLASS_PATH
    # The launcher's LFDI (IEEE 2030.5 clause 6.3.4) is the one the client computes itself.
    assert device["lfdi"] == compute_lfdi(ev.chain_path.read_text()).lower()
    assert device["lfdi"] == launcher.lfdi_of(ev.chain_path)


def test_readings_are_signed_and_come_every_post_rate(pki: Path) -> None:
    telemetry = _config(pki, "--post-rate", "15")["telemetry"]
    assert telemetry == {
        "enabled": True,
        "post_rate_seconds": 15,
        "reading_profile": "signed_load_convention",
    }


def test_the_written_file_loads_with_the_clients_own_loader(pki: Path, tmp_path: Path) -> None:
    path = launcher.write_config(_config(pki, "--transport", "both", "--log-level", "DEBUG"), tmp_path / "w")
    assert path.name == launcher.CONFIG_NAME
    loaded = load_config(path)
    assert loaded.discovery.transport == "both"
    assert loaded.logging.level == "DEBUG"
    assert loaded.history.enabled is False
    assert loaded.devices[0].class_path == launcher.CONNECTOR_CLASS_PATH


@pytest.mark.parametrize("flag", ["--cert", "--key", "--trust-anchor"])
def test_a_missing_file_is_named(pki: Path, tmp_path: Path, flag: str) -> None:
    argv = _argv(pki)
    argv[argv.index(flag) + 1] = str(tmp_path / "missing.pem")
    with pytest.raises(launcher.LauncherError, match=flag):
        launcher.client_config(launcher.parser().parse_args(argv))


def test_a_file_without_a_certificate_is_refused(pki: Path) -> None:
    ev = load_identity(pki, "ev")
    argv = _argv(pki)
    argv[argv.index("--cert") + 1] = str(ev.key_path)
    with pytest.raises(launcher.LauncherError, match="no PEM certificate"):
        launcher.client_config(launcher.parser().parse_args(argv))


def test_a_post_rate_below_one_second_is_refused(pki: Path) -> None:
    with pytest.raises(launcher.LauncherError, match="--post-rate"):
        _config(pki, "--post-rate", "0")


def test_main_reports_a_bad_argument_without_touching_the_venv(
    pki: Path, capsys: pytest.CaptureFixture
) -> None:
    assert launcher.main([*_argv(pki), "--post-rate", "-1"]) == 2
    assert "--post-rate" in capsys.readouterr().err


def test_the_launcher_reexecutes_itself_by_path_in_the_clients_venv() -> None:
    argv = launcher.venv_argv(Path("/venv/bin/python"), ["--interface", "lo"])
    assert argv[0] == "/venv/bin/python"
    assert argv[1].endswith("harness/dut/py20305_client_dut.py")
    assert argv[2:] == ["--interface", "lo", "--in-venv"]


def test_the_venv_pins_the_client_release_with_its_cli_extra() -> None:
    assert env.VENV.requirements == ("py20305[cli]==0.16.1",)
    assert env.VENV.cache_name == "py20305-client-0.16.1"
    assert "py20305.cli" in env.IMPORT_CHECK
