"""The cactus-client EVSE launcher's command line: URLs, files, limits, the TLS context it hands the client,
and how it re-executes itself in the client's venv.  Nothing here imports the client."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from harness.dut import sep2_client_dut as launcher
from harness.pki.hierarchy import init_pki
from harness.pki.store import load_identity


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory, ("evse",))
    return directory


def _argv(pki: Path, *extra: str, url: str = "https://[fe80::1%25vgi-dut0]:8443/dcap") -> list[str]:
    evse = load_identity(pki, "evse")
    return [
        "--dcap-url",
        url,
        "--cert",
        str(evse.chain_path),
        "--key",
        str(evse.key_path),
        "--trust-anchor",
        str(evse.trust_anchor_path),
        *extra,
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://[fe80::1%25vgi-dut0]:8443/dcap", "https://[fe80::1%vgi-dut0]:8443/dcap"),
        ("https://[fe80::1%vgi-dut0]:8443/dcap", "https://[fe80::1%vgi-dut0]:8443/dcap"),
        ("https://[::1]:8443/dcap", "https://[::1]:8443/dcap"),
        ("https://server.example:8443/sep2/dcap", "https://server.example:8443/sep2/dcap"),
        ("https://[::1]:8443", "https://[::1]:8443/"),
    ],
)
def test_an_rfc6874_zone_is_turned_into_the_form_getaddrinfo_resolves(url: str, expected: str) -> None:
    assert launcher.normalise_url(url) == expected


@pytest.mark.parametrize("url", ["ftp://[::1]/dcap", "https:///dcap", "dcap"])
def test_a_url_that_is_not_http_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(launcher.LauncherError):
        launcher.normalise_url(url)


def test_the_base_url_and_dcap_path_are_split_for_the_client() -> None:
    assert launcher.split_dcap_url("https://[fe80::1%eth0]:8443/sep2/dcap") == (
        "https://[fe80::1%eth0]:8443/",
        "/sep2/dcap",
    )


def test_the_arguments_are_checked_and_defaulted(pki: Path) -> None:
    args, in_venv = launcher.parse_args(_argv(pki))
    assert not in_venv
    assert args.dcap_url == "https://[fe80::1%vgi-dut0]:8443/dcap"
    assert args.base_url == "https://[fe80::1%vgi-dut0]:8443/"
    assert args.dcap_path == "/dcap"
    assert args.tls_profile == "sep2"
    assert args.list_limit == launcher.DEFAULT_LIST_LIMIT
    assert args.walks == 0 and args.pin is None and args.keylog is None
    args, in_venv = launcher.parse_args(
        _argv(pki, "--in-venv", "--pin", "111115", "--list-limit", "0", "--tls-profile", "client-default")
    )
    assert in_venv and args.pin == 111115 and args.list_limit == 0 and args.tls_profile == "client-default"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--list-limit", "-1"), "--list-limit"),
        (("--walks", "-2"), "--walks"),
        (("--pin", "1234567"), "--pin"),
    ],
)
def test_out_of_range_numbers_are_refused(pki: Path, extra: tuple[str, ...], message: str) -> None:
    with pytest.raises(launcher.LauncherError, match=message):
        launcher.parse_args(_argv(pki, *extra))


def test_a_missing_certificate_is_named(pki: Path, tmp_path: Path) -> None:
    argv = _argv(pki)
    argv[argv.index("--cert") + 1] = str(tmp_path / "nope.pem")
    with pytest.raises(launcher.LauncherError, match="--cert .*nope.pem does not exist"):
        launcher.parse_args(argv)
    assert launcher.main(argv) == 2


def test_the_sep2_profile_offers_tls12_and_only_the_ccm8_suite_and_checks_the_server(pki: Path) -> None:
    args, _ = launcher.parse_args(_argv(pki))
    context = launcher.sep2_tls_context(args)
    assert context.minimum_version == context.maximum_version == ssl.TLSVersion.TLSv1_2
    # The TLS 1.3 suites stay listed by OpenSSL but cannot be offered with TLS 1.3 disabled.
    tls12 = [c["name"] for c in context.get_ciphers() if c["protocol"] != "TLSv1.3"]
    assert tls12 == [launcher.SEP2_CIPHER_OPENSSL]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is False


def test_without_a_trust_anchor_the_server_is_not_checked(pki: Path) -> None:
    argv = _argv(pki)
    anchor = argv.index("--trust-anchor")
    del argv[anchor : anchor + 2]
    args, _ = launcher.parse_args(argv)
    assert args.trust_anchor is None
    assert launcher.sep2_tls_context(args).verify_mode == ssl.CERT_NONE


def test_the_launcher_reexecutes_this_file_by_path_in_the_venv() -> None:
    argv = launcher.venv_argv(Path("/venv/bin/python"), ["--dcap-url", "https://[::1]:8443/dcap"])
    assert argv[0] == "/venv/bin/python"
    assert Path(argv[1]).resolve() == Path(launcher.__file__).resolve()
    assert argv[2:] == ["--dcap-url", "https://[::1]:8443/dcap", "--in-venv"]


def test_an_environment_that_cannot_be_built_stops_the_launcher_with_the_reason(
    pki: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.dut import sep2_client_env

    def fail() -> Path:
        raise sep2_client_env.Sep2ClientEnvError("pip install cactus-client==1.1.0 failed: offline")

    monkeypatch.setattr(sep2_client_env, "sep2_client_python", fail)
    assert launcher.main(_argv(pki)) == 2
    assert "offline" in capsys.readouterr().err
