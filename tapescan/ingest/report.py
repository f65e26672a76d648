"""The ingest report: every row of every file accounted for.

For each file and in total, rows_read == rows_stored + rows_rejected + rows_duplicate. A row is a line
with content (header and blank lines are counted apart, they are not rows). rows_stored counts rows that
are in the store after the ingest, whether this run wrote them or an earlier run already had.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapescan.fsio import write_bytes_atomic


@dataclass
class SourceCounts:
    """The counts of one file."""

    source: str
    symbol: str | None
    adjustment: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    header_lines: int = 0
    blank_lines: int = 0
    quarantine: str | None = None

    def reject(self, reason: str, count: int) -> None:
        self.rows_rejected += count
        self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + count

    def balanced(self) -> bool:
        return self.rows_read == self.rows_stored + self.rows_rejected + self.rows_duplicate


@dataclass
class Totals:
    files: int = 0
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, sources: list[SourceCounts]) -> Totals:
        totals = cls(files=len(sources))
        for counts in sources:
            totals.rows_read += counts.rows_read
            totals.rows_stored += counts.rows_stored
            totals.rows_rejected += counts.rows_rejected
            totals.rows_duplicate += counts.rows_duplicate
            for reason, count in counts.rejected_by_reason.items():
                totals.rejected_by_reason[reason] = totals.rejected_by_reason.get(reason, 0) + count
        totals.rejected_by_reason = dict(sorted(totals.rejected_by_reason.items()))
        return totals


@dataclass
class IngestReport:
    """What one `tapescan ingest` did."""

    vendor: str
    store: str
    started: str
    finished: str = ""
    seconds: float = 0.0
    input_bytes: int = 0
    sources: list[SourceCounts] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    sessions_written: int = 0
    bars_written: int = 0
    symbols_added: list[str] = field(default_factory=list)
    report_file: str | None = None

    @property
    def total(self) -> Totals:
        return Totals.of(self.sources)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["total"] = dataclasses.asdict(self.total)
        return data

    def save(self, path: Path) -> None:
        """Write the report as JSON, atomically."""
        self.report_file = str(path)
        write_bytes_atomic(path, (json.dumps(self.to_json(), indent=2) + "\n").encode())
