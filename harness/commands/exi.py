"""`vgi exi decode|encode --schema S`: the V2G EXI codec from the command line.

Each input (an argument, or a line of ``--batch FILE``/``-``) gives exactly one output line, in order.
A bad input prints ``{"error": ..., "offset_bits": N}`` (decode) or ``{"error": ..., "path": ...}``
(encode) and the rest carries on; the exit status is non-zero only for usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator

SCHEMA_CHOICES = ("app", "din", "iso2", "iso20-common", "iso20-ac", "iso20-dc", "iso20-acdp", "iso20-wpt")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "exi",
        help="decode/encode V2G EXI (AppProtocol, DIN 70121, ISO 15118-2, ISO 15118-20)",
        description="Decode EXI hex to JSON or encode JSON to EXI hex with the schema-informed V2G codec.",
    )
    exi_sub = parser.add_subparsers(dest="exi_command", metavar="EXI_COMMAND")
    exi_sub.required = True
    decode = exi_sub.add_parser(
        "decode",
        help="EXI hex -> JSON, one per line",
        description="Decode each HEX argument (or each line of --batch) to one line of JSON. A line that "
        'fails prints {"error": ..., "offset_bits": N}.',
    )
    decode.add_argument("hex", nargs="*", metavar="HEX")
    encode = exi_sub.add_parser(
        "encode",
        help="JSON -> EXI hex, one per line",
        description="Encode each JSON argument (or each line of --batch) to one line of hex. A line that "
        'fails prints {"error": ..., "path": ...}.',
    )
    encode.add_argument("json", nargs="*", metavar="JSON")
    encode.add_argument(
        "--no-strict",
        dest="strict",
        action="store_false",
        help="craft invalid messages: skip facet checks (ranges, lengths) and send values their type "
        "cannot hold as untyped strings (as EXIficient does)",
    )
    encode.add_argument(
        "--empty-as-ee",
        action="store_true",
        help="write empty values as EXIficient does (second-level EE), not as a zero-length value",
    )
    for p, handler in ((decode, _decode), (encode, _encode)):
        p.add_argument("--schema", "-s", required=True, choices=SCHEMA_CHOICES, help="message set")
        p.add_argument("--batch", metavar="FILE", help="read one input per line from FILE ('-' = stdin)")
        p.set_defaults(handler=handler)


def _inputs(args: argparse.Namespace, positional: list[str]) -> Iterator[str]:
    from harness.commands import UsageError

    if args.batch and positional:
        raise UsageError("give inputs as arguments or with --batch, not both")
    if not args.batch:
        if not positional:
            raise UsageError("nothing to do: give inputs as arguments or with --batch FILE (or -)")
        yield from positional
        return
    if args.batch == "-":
        yield from _lines(sys.stdin)
        return
    try:
        handle = open(args.batch, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot read {args.batch}: {exc.strerror}") from None
    with handle:
        yield from _lines(handle)


def _lines(stream: Iterable[str]) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\r\n")


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n")


def _decode(args: argparse.Namespace) -> int:
    from harness.codec.v2g.exi_codec import DecodeError, decode

    for item in _inputs(args, args.hex):
        text = "".join(item.split())
        try:
            data = bytes.fromhex(text)
        except ValueError:
            _emit(json.dumps({"error": "input is not hex", "offset_bits": 0}))
            continue
        try:
            _emit(json.dumps(decode(args.schema, data)))
        except DecodeError as exc:
            _emit(json.dumps({"error": exc.reason, "offset_bits": exc.offset_bits}))
    sys.stdout.flush()
    return 0


def _encode(args: argparse.Namespace) -> int:
    from harness.codec.v2g.exi_codec import EncodeError, encode

    for item in _inputs(args, args.json):
        try:
            msg = json.loads(item)
        except json.JSONDecodeError as exc:
            _emit(json.dumps({"error": f"input is not JSON: {exc.msg} at column {exc.colno}", "path": ""}))
            continue
        try:
            _emit(encode(args.schema, msg, strict=args.strict, empty_as_ee=args.empty_as_ee).hex())
        except EncodeError as exc:
            _emit(json.dumps({"error": exc.rule, "path": exc.path}))
    sys.stdout.flush()
    return 0
