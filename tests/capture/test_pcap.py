"""capture/pcap.py: records of pcap and pcapng files, read in chunks, as scapy reads them."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import capture.pcap as pcap
from capture.pcap import PcapFormatError, records


def _packets(count: int = 5) -> list:
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    packets = []
    for n in range(count):
        packet = (
            Ether(src="02:00:00:00:00:01") / IPv6(src="fe80::1", dst="ff02::1") / UDP(dport=15118) / bytes(n)
        )
        packet.time = 1_700_000_000.123456 + n * 0.25
        packets.append(packet)
    return packets


def _scapy_view(path: Path) -> list[tuple[float, bytes]]:
    from scapy.utils import PcapReader

    with PcapReader(str(path)) as reader:
        return [(float(p.time), bytes(p)) for p in reader]


@pytest.mark.parametrize("kind", ["pcap", "pcap-nano", "pcapng"])
def test_records_equal_what_scapy_reads(tmp_path: Path, kind: str) -> None:
    from scapy.utils import PcapNgWriter, PcapWriter

    path = tmp_path / f"x.{kind}"
    if kind == "pcapng":
        writer = PcapNgWriter(str(path))
    else:
        writer = PcapWriter(str(path), nano=kind == "pcap-nano")
    for packet in _packets():
        writer.write(packet)
    writer.close()
    ours = [(t, frame) for t, linktype, frame in records(path)]
    assert ours == _scapy_view(path)
    assert {linktype for _, linktype, _ in records(path)} == {1}


def test_many_records_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scapy.utils import PcapNgWriter

    path = tmp_path / "x.pcapng"
    writer = PcapNgWriter(str(path))
    for packet in _packets(40):
        writer.write(packet)
    writer.close()
    monkeypatch.setattr(pcap, "CHUNK_BYTES", 7)  # every record straddles a refill
    assert [(t, f) for t, _, f in records(path)] == _scapy_view(path)


def test_gzip_compressed_capture(tmp_path: Path) -> None:
    from scapy.utils import wrpcap

    plain = tmp_path / "x.pcap"
    wrpcap(str(plain), _packets())
    packed = tmp_path / "x.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(records(packed)) == list(records(plain))


def test_a_file_cut_short_ends_at_its_last_whole_record(tmp_path: Path) -> None:
    from scapy.utils import wrpcap

    path = tmp_path / "x.pcap"
    wrpcap(str(path), _packets())
    whole = list(records(path))
    path.write_bytes(path.read_bytes()[:-3])
    assert list(records(path)) == whole[:-1]


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a capture\n")
    with pytest.raises(PcapFormatError, match="not a pcap or pcapng"):
        list(records(path))
