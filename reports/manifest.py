"""``manifest.sha256``: a checksum of every artifact of a run, so a lab can prove none changed later.

The file is in the format ``sha256sum`` writes and ``sha256sum -c`` reads: one line per file,
``<64 hex digits><space><space><path>``, paths relative to the run directory with POSIX separators,
sorted.  A path holding a backslash or a newline is written the way GNU coreutils escapes it: the line
starts with a backslash and the path has ``\\\\`` and ``\\n`` in place of those characters.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MANIFEST_FILE = "manifest.sha256"
# Written first and renamed over the manifest; a crash can leave it behind, and it is no artifact.
_MANIFEST_TMP = MANIFEST_FILE + ".tmp"
# The detached signature over the manifest (reports.signing): it signs the manifest, so the manifest
# cannot list it.
SIGNATURE_FILE = MANIFEST_FILE + ".p7s"
# How stock openssl and coreutils check a signed run: the signature over the manifest (DER CMS, content
# detached and signed as bytes, hence -binary; -purpose any because a lab's signing certificate need not
# carry the S/MIME purpose), then every file against the manifest.
OPENSSL_VERIFY = (
    f"openssl cms -verify -binary -inform DER -in RUN_DIR/{SIGNATURE_FILE} -content RUN_DIR/{MANIFEST_FILE} "
    f"-CAfile CA.pem -purpose any -out /dev/null && (cd RUN_DIR && sha256sum -c --strict {MANIFEST_FILE})"
)

# One manifest line: optional escape marker, digest, two spaces (text mode) or space-star (binary
# mode, which sha256sum also accepts on reading), then the path.
_LINE = re.compile(r"^(?P<escaped>\\)?(?P<digest>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<path>.+)$")


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _artifacts(run_dir: Path) -> list[str]:
    """Every regular file under ``run_dir`` except the manifest, as sorted POSIX relative paths."""
    names = []
    for path in run_dir.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(run_dir).as_posix()
        if relative in (MANIFEST_FILE, _MANIFEST_TMP, SIGNATURE_FILE):
            continue
        names.append(relative)
    return sorted(names)


def _format_line(digest: str, relative: str) -> str:
    if "\\" in relative or "\n" in relative:
        escaped = relative.replace("\\", "\\\\").replace("\n", "\\n")
        return f"\\{digest}  {escaped}"
    return f"{digest}  {relative}"


def _unescape(path: str) -> str:
    out = []
    i = 0
    while i < len(path):
        if path[i] == "\\" and i + 1 < len(path):
            nxt = path[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def write_manifest(run_dir: Path) -> Path:
    """Write ``manifest.sha256`` over every file in ``run_dir`` (except itself); return its path.

    A signature over an earlier, different manifest is removed: it would no longer verify, and an
    unsigned run says so more plainly than a broken signature.  Rewriting an unchanged manifest keeps it.
    """
    run_dir = Path(run_dir)
    lines = [_format_line(_digest(run_dir / relative), relative) for relative in _artifacts(run_dir)]
    manifest = run_dir / MANIFEST_FILE
    text = "".join(line + "\n" for line in lines)
    signature = run_dir / SIGNATURE_FILE
    if signature.exists() and (not manifest.is_file() or manifest.read_bytes() != text.encode("utf-8")):
        signature.unlink()
    tmp = run_dir / _MANIFEST_TMP
    tmp.write_text(text, encoding="utf-8", newline="\n")
    # Replace atomically so a verifier never reads half a manifest; the .tmp name never outlives this.
    tmp.replace(manifest)
    return manifest


def verify_manifest(run_dir: Path) -> list[str]:
    """Problems found checking ``run_dir`` against its manifest; an empty list means all is intact.

    Reports files whose content changed, files listed but missing, files present but not listed,
    malformed lines, duplicate entries and paths that leave the run directory.
    """
    run_dir = Path(run_dir)
    manifest = run_dir / MANIFEST_FILE
    if not manifest.is_file():
        return [f"{MANIFEST_FILE} not found in {run_dir}"]
    problems: list[str] = []
    listed: dict[str, str] = {}
    text = manifest.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(f"{MANIFEST_FILE} line {number}: not '<sha256>  <path>': {line[:80]!r}")
            continue
        relative = match["path"]
        if match["escaped"]:
            relative = _unescape(relative)
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts:
            problems.append(f"{MANIFEST_FILE} line {number}: path leaves the run directory: {relative!r}")
            continue
        if relative in listed:
            problems.append(f"{MANIFEST_FILE} line {number}: {relative} listed twice")
            continue
        listed[relative] = match["digest"].lower()
    for relative, expected in listed.items():
        path = run_dir / relative
        if not path.is_file():
            problems.append(f"{relative}: listed in the manifest but missing")
        elif _digest(path) != expected:
            problems.append(f"{relative}: content changed (sha256 differs from the manifest)")
    for relative in _artifacts(run_dir):
        if relative not in listed:
            problems.append(f"{relative}: present but not in the manifest")
    return problems
