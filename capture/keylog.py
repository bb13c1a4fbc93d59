"""Where a capture's TLS key log lies: beside it, ``<capture stem>.keys`` (NSS key log format), which
the harness writes for every tester endpoint and tshark reads to decrypt (capture.tls_http)."""

from __future__ import annotations

from pathlib import Path

KEYLOG_SUFFIX = ".keys"


def keylog_for(capture: Path) -> Path:
    return capture.with_suffix(KEYLOG_SUFFIX)
