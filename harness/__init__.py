"""VGI conformance harness library."""

__version__ = "0.1.0"
