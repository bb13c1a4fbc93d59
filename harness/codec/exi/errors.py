"""The two errors the EXI codec raises: one for bytes it cannot read, one for messages it cannot write."""

from __future__ import annotations


class DecodeError(ValueError):
    """The bytes are not a valid EXI stream for the schema; ``offset_bits`` says where reading failed."""

    def __init__(self, message: str, offset_bits: int) -> None:
        super().__init__(f"{message} (at bit {offset_bits})")
        self.reason = message
        self.offset_bits = offset_bits


class EncodeError(ValueError):
    """The message does not fit the schema; ``path`` names the element, ``rule`` what was broken."""

    def __init__(self, path: str | tuple, rule: str) -> None:
        path = format_path(path)
        super().__init__(f"{path}: {rule}" if path else rule)
        self.path = path
        self.rule = rule


def format_path(path: str | tuple) -> str:
    """The encoder passes paths as cheap chains ``(parent, name[, index])``; errors spell them out."""
    parts: list[str] = []
    while isinstance(path, tuple):
        parts.append(f"{path[1]}[{path[2]}]" if len(path) == 3 else path[1])
        path = path[0]
    if path:
        parts.append(path)
    return ".".join(reversed(parts))
