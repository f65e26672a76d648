"""Vendor files into the store, every row accounted for: `ingest` and the ThetaData terminal fetcher."""

from tapescan.ingest.pipeline import ingest
from tapescan.ingest.report import IngestReport, SourceCounts
from tapescan.ingest.validate import REASONS
from tapescan.ingest.vendors import VENDORS, IngestOptions

__all__ = ["REASONS", "VENDORS", "IngestOptions", "IngestReport", "SourceCounts", "ingest"]
