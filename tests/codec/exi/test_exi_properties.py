"""Property tests: generated messages of every type round-trip; any input decodes or raises DecodeError."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.codec.exi.bitstream import BitWriter
from harness.codec.v2g.exi_codec import SCHEMAS, DecodeError, decode, encode, schema_for
from harness.codec.v2g.exi_samples import Chooser, message_types, sample_message

MESSAGE_SCHEMAS = [s for s in SCHEMAS if s != "xmldsig"]
MESSAGE_CASES = [(schema, name) for schema in MESSAGE_SCHEMAS for name in message_types(schema)]
# Enough examples to walk the optional branches of each message, few enough to keep the suite fast.
EXAMPLES_PER_MESSAGE = 8
FUZZ_SEED = 15118
FUZZ_MUTATIONS = 4000


def test_every_schema_has_message_types() -> None:
    counts = {schema: len(message_types(schema)) for schema in MESSAGE_SCHEMAS}
    assert counts["app"] == 2
    assert counts["din"] >= 30 and counts["iso2"] >= 30
    assert all(counts.values()), counts


@pytest.mark.parametrize(("schema", "message"), MESSAGE_CASES, ids=[f"{s}-{m}" for s, m in MESSAGE_CASES])
@settings(max_examples=EXAMPLES_PER_MESSAGE, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), ascii_only=st.booleans())
def test_generated_messages_round_trip(
    schema: str, message: str, data: st.DataObject, ascii_only: bool
) -> None:
    chooser = Chooser(integer=lambda lo, hi: data.draw(st.integers(lo, hi)), ascii_only=ascii_only)
    msg = sample_message(schema, message, chooser)
    encoded = encode(schema, msg)
    assert decode(schema, encoded) == msg
    # One message, one encoding: re-encoding what we decoded gives the same bytes.
    assert encode(schema, decode(schema, encoded)) == encoded


def _only_decode_error(schema: str, data: bytes) -> None:
    try:
        result = decode(schema, data)
    except DecodeError as exc:
        assert 0 <= exc.offset_bits <= max(8, len(data) * 8)
        return
    assert isinstance(result, dict) and len(result) == 1


@settings(max_examples=300, deadline=None)
@given(schema=st.sampled_from(MESSAGE_SCHEMAS), body=st.binary(max_size=200), with_header=st.booleans())
def test_random_bytes_only_raise_decode_error(schema: str, body: bytes, with_header: bool) -> None:
    _only_decode_error(schema, (b"\x80" if with_header else b"") + body)


def test_mutated_vectors_only_raise_decode_error(exi_vectors_path: Path) -> None:
    rng = random.Random(FUZZ_SEED)
    with exi_vectors_path.open(encoding="utf-8") as handle:
        vectors = [json.loads(line) for line in handle]
    for _ in range(FUZZ_MUTATIONS):
        v = rng.choice(vectors)
        schema = schema_for(v["namespace"])
        data = bytearray.fromhex(v["exi"])
        how = rng.randrange(5)
        if how == 0:  # flip a few bits after the header
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(1, len(data)) if len(data) > 1 else 0
                data[i] ^= 1 << rng.randrange(8)
        elif how == 1:  # truncate
            del data[rng.randrange(1, len(data) + 1) :]
        elif how == 2:  # overwrite a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 3:  # insert random bytes
            i = rng.randrange(1, len(data) + 1)
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:  # make lengths huge: 0xff runs look like long unsigned integers
            i = rng.randrange(1, len(data)) if len(data) > 1 else 0
            data[i : i + 6] = b"\xff" * 6
        _only_decode_error(schema, bytes(data))


def test_length_fields_cannot_allocate_beyond_the_input() -> None:
    # DIN V2G_Message (document code 77), SE(Header), SE(SessionID), CH, then a length of 2**62 bytes:
    # must fail at once with the offset of the length, not try to allocate it.
    w = BitWriter()
    w.bits(0x80, 8)
    w.bits(77, 7)
    w.bits(0, 3)
    w.uint(2**62)
    w.octets(b"\x01\x02\x03")
    with pytest.raises(DecodeError, match="exceeds") as err:
        decode("din", w.getvalue())
    assert err.value.offset_bits == 8 + 7 + 3
