"""Typed errors of the importer; both end the run with exit code 2."""

from __future__ import annotations


class ImporterError(Exception):
    """The import cannot go on; the message says why, for the operator."""


class FormatError(ImporterError):
    """The file is not in the named format (not JSON, no header row, not a vendor response)."""


class ServiceError(ImporterError):
    """The ingestion service refused for good or stayed unreachable after every retry."""
