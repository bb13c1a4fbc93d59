"""The josev launcher (harness/dut/josev_dut.py) without josev: its warm-up samples, josev's EVCC config
and the command line it hands josev's interpreter (the run itself is the interop tests')."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from harness.codec.v2g import exi_codec
from harness.dut import josev_dut
from harness.protocol.iso15118_20.messages import TYPICAL_DC_SESSION_REQUESTS

# The -20 schemas of a DC session (CommonMessages and DC), by namespace: the codec's table.
ISO20_NAMESPACES = {
    namespace: schema
    for namespace, schema in exi_codec.NAMESPACE_SCHEMAS.items()
    if schema in ("iso20-common", "iso20-dc")
}
# The requests of a -20 DC session after the handshake (the same set in Scheduled mode, EIM, for josev).
ISO20_SESSION_REQUESTS = set(TYPICAL_DC_SESSION_REQUESTS) - {"supportedAppProtocolReq"}


def test_iso20_warmup_covers_every_request_of_a_dc_and_dc_bpt_session():
    samples = josev_dut.warmup_samples("iso15118-20")
    names = []
    for namespace, text in samples:
        schema = ISO20_NAMESPACES[namespace]
        message = json.loads(text)
        # the JSON is schema-valid in the namespace it is handed to josev with: it encodes strictly
        assert exi_codec.decode(schema, exi_codec.encode(schema, message)) == message
        names.append(next(iter(message)))
    assert set(names) == ISO20_SESSION_REQUESTS
    bodies = [json.loads(text) for _, text in samples]
    cpd = [b["DC_ChargeParameterDiscoveryReq"] for b in bodies if "DC_ChargeParameterDiscoveryReq" in b]
    loops = [b["DC_ChargeLoopReq"] for b in bodies if "DC_ChargeLoopReq" in b]
    assert {next(k for k in b if k.endswith("EnergyTransferMode")) for b in cpd} == {
        "DC_CPDReqEnergyTransferMode",
        "BPT_DC_CPDReqEnergyTransferMode",
    }
    assert {next(k for k in b if k.endswith("ControlMode")) for b in loops} == {
        "Scheduled_DC_CLReqControlMode",
        "BPT_Scheduled_DC_CLReqControlMode",
    }


@pytest.mark.parametrize("protocol", sorted(josev_dut.JOSEV_PROTOCOLS))
def test_the_warmed_charge_loop_request_is_among_the_samples(protocol):
    # the bootstrap repeats the samples whose JSON names the protocol's charge loop request
    hot = josev_dut.CHARGE_LOOP_REQUESTS[protocol]
    picked = [text for _, text in josev_dut.warmup_samples(protocol) if hot in text]
    assert picked, f"no {hot} sample to warm up"
    # and only those: the name in the JSON text picks no other message type
    assert {_message_name(json.loads(text)) for text in picked} == {hot}


def _message_name(message: dict) -> str:
    # DIN SPEC 70121 and ISO 15118-2 wrap the message in V2G_Message/Body, ISO 15118-20 does not
    inner = message["V2G_Message"]["Body"] if "V2G_Message" in message else message
    return next(iter(inner))


def test_evcc_configuration_names_one_protocol_and_one_energy_service():
    bpt = josev_dut.evcc_configuration("iso15118-20", "DC_BPT")
    assert bpt["supportedProtocols"] == ["ISO_15118_20_DC"]
    assert bpt["supportedEnergyServices"] == ["DC_BPT"]
    assert bpt["useTls"] is False
    assert josev_dut.evcc_configuration("iso15118-20")["supportedEnergyServices"] == ["DC"]
    din = josev_dut.evcc_configuration("din70121")
    assert din["supportedProtocols"] == ["DIN_SPEC_70121"]
    assert din == {**josev_dut.EVCC_CONFIG, "supportedProtocols": ["DIN_SPEC_70121"]}


@pytest.mark.parametrize(
    "argv",
    [
        ["secc", "--interface", "vgi0", "--protocol", "iso15118-20", "--energy-service", "DC_BPT"],
        ["evcc", "--interface", "vgi0", "--protocol", "iso15118-2", "--energy-service", "DC"],
        ["evcc", "--interface", "vgi0", "--protocol", "iso15118-20", "--energy-service", "AC"],
    ],
    ids=["secc", "not-iso20", "unknown-service"],
)
def test_energy_service_is_for_the_iso20_evcc_only(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        josev_dut.main(argv)
    assert exited.value.code == 2
    assert "--energy-service" in capsys.readouterr().err


class _Exec(Exception):
    pass


def _launch(monkeypatch, tmp_path: Path, argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """What main() hands os.execve, with josev's venv, Java and the working directory stood in for."""
    calls = []

    def execve(path, args, env):
        calls.append((args, env))
        raise _Exec

    monkeypatch.setattr(josev_dut, "java_path", lambda: "/usr/bin/java")
    monkeypatch.setattr(josev_dut, "josev_python", lambda: Path("/josev/venv/bin/python"))
    monkeypatch.setattr(josev_dut.tempfile, "mkdtemp", lambda prefix: str(tmp_path))
    monkeypatch.setattr(josev_dut.os, "chdir", lambda path: None)
    monkeypatch.setattr(josev_dut.os, "execve", execve)
    with pytest.raises(_Exec):
        josev_dut.main(argv)
    (call,) = calls
    return call


def test_iso20_evcc_launch(monkeypatch, tmp_path):
    args, env = _launch(
        monkeypatch,
        tmp_path,
        [
            "evcc",
            "--interface",
            "vgi0",
            "--protocol",
            "iso15118-20",
            "--energy-service",
            "DC_BPT",
            "--warmup",
            "7",
        ],
    )
    python, flag, script, role, rounds, samples, config_path, hot = args
    assert (python, flag, role, rounds, hot) == (
        "/josev/venv/bin/python",
        "-c",
        "evcc",
        "7",
        "DC_ChargeLoopReq",
    )
    compile(script, "<josev bootstrap>", "exec")  # the bootstrap is valid Python
    assert json.loads(samples) == [list(s) for s in josev_dut.warmup_samples("iso15118-20")]
    config = json.loads(Path(config_path).read_text())
    assert config["supportedProtocols"] == ["ISO_15118_20_DC"]
    assert config["supportedEnergyServices"] == ["DC_BPT"]
    assert env["PROTOCOLS"] == "ISO_15118_20_DC"
    assert env["NETWORK_INTERFACE"] == "vgi0"
    assert env["SECC_ENFORCE_TLS"] == "false"


def test_din_secc_launch_is_unchanged(monkeypatch, tmp_path):
    args, env = _launch(monkeypatch, tmp_path, ["secc", "--interface", "vgi0"])
    assert args[3:5] == ["secc", str(josev_dut.WARMUP_ROUNDS)]
    assert args[-1] == "CurrentDemandReq"
    assert env["PROTOCOLS"] == "DIN_SPEC_70121"
    config = json.loads(Path(args[6]).read_text())
    assert config["supportedProtocols"] == ["DIN_SPEC_70121"]
    assert config["supportedEnergyServices"] == ["DC"]


def test_tls_evcc_configuration_asks_for_tls():
    assert josev_dut.evcc_configuration("iso15118-2", tls=True)["useTls"] is True
    assert josev_dut.evcc_configuration("iso15118-2")["useTls"] is False


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["secc", "--interface", "vgi0", "--tls"], "--tls"),
        (["evcc", "--interface", "vgi0", "--protocol", "iso15118-20", "--tls"], "--tls"),
        (["secc", "--interface", "vgi0", "--protocol", "iso15118-2", "--v2g-pki", "/x"], "--v2g-pki"),
    ],
    ids=["din", "iso20", "pki-without-tls"],
)
def test_tls_is_for_iso2_only(argv, named, capsys):
    with pytest.raises(SystemExit) as exited:
        josev_dut.main(argv)
    assert exited.value.code == 2
    assert named in capsys.readouterr().err


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> ssl.SSLObject:
    """A TLS handshake in memory between ``server`` and ``client``; the client's SSLObject."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_end = client.wrap_bio(to_client, to_server, server_side=False)
    server_end = server.wrap_bio(to_server, to_client, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client_end), ("server", server_end)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        if all(done.values()):
            return client_end
    raise AssertionError("the handshake did not finish")


def test_tls_layout_is_what_josev_loads_and_an_ev_trusting_the_lab_root_accepts(tmp_path):
    from harness.pki.v2g import init_v2g_pki

    lab_pki = tmp_path / "v2g-pki"
    init_v2g_pki(lab_pki)
    josev_dut.josev_tls_layout(tmp_path / "josev", lab_pki)
    certs = tmp_path / "josev" / josev_dut.JOSEV_ISO2_CERTS
    keys = tmp_path / "josev" / josev_dut.JOSEV_ISO2_KEYS
    # the password file exists and is empty: josev then loads the key without a password
    assert (keys / josev_dut.JOSEV_SECC_KEY_PASSWORD).read_text() == ""
    # josev's SECC context as its security module builds it in ISO 15118-2 (TLS 1.2, its suite list)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.maximum_version = ssl.TLSVersion.TLSv1_2
    server.load_cert_chain(certs / josev_dut.JOSEV_SECC_CHAIN, keys / josev_dut.JOSEV_SECC_KEY)
    server.set_ciphers("ECDHE-ECDSA-AES128-SHA256")
    # josev's EVCC trusts its v2gRootCACert.pem; so does the lab's reference EV (the lab's V2G root)
    for anchor in (certs / josev_dut.JOSEV_V2G_ROOT, lab_pki / "v2g_root.pem"):
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.load_verify_locations(cafile=anchor)
        client.set_ciphers("ECDHE-ECDSA-AES128-SHA256")
        session = _handshake(server, client)
        assert session.version() == "TLSv1.2"
        assert session.cipher()[0] == "ECDHE-ECDSA-AES128-SHA256"
        subject = dict(entry for rdn in session.getpeercert()["subject"] for entry in rdn)
        assert subject["commonName"] == "ZZ00000"  # the lab's SECC leaf
    # what josev presents: the leaf and both CPO sub-CAs (the EV holds only the root)
    assert (certs / josev_dut.JOSEV_SECC_CHAIN).read_text().count("BEGIN CERTIFICATE") == 3


def test_iso2_tls_secc_launch(monkeypatch, tmp_path):
    from harness.pki.v2g import init_v2g_pki

    lab_pki = tmp_path / "lab-pki"
    init_v2g_pki(lab_pki)
    workdir = tmp_path / "work"
    workdir.mkdir()
    args, env = _launch(
        monkeypatch,
        workdir,
        ["secc", "--interface", "vgi0", "--protocol", "iso15118-2", "--tls", "--v2g-pki", str(lab_pki)],
    )
    assert env["PROTOCOLS"] == "ISO_15118_2"
    assert env["ENABLE_TLS_1_3"] == "false"
    assert env["PKI_PATH"] == str(workdir / "pki") + "/"
    chain = workdir / "pki" / josev_dut.JOSEV_ISO2_CERTS / josev_dut.JOSEV_SECC_CHAIN
    assert chain.read_bytes() == (lab_pki / "secc" / "chain.pem").read_bytes()
    assert json.loads(Path(args[6]).read_text())["useTls"] is True
