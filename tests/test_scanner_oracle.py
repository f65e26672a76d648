"""tapescan's scan and sweep on the CPU agree row for row with the oracle scanner (tests/scanner_agreement.py)."""

from __future__ import annotations

from tests.scanner_agreement import assert_scans_agree, assert_sweep_agrees


def test_sweep_and_first_hit_sweep_agree_with_the_oracle(scanner_store):
    assert_sweep_agrees(*scanner_store, backend="cpu")


def test_scans_without_filters_agree_with_the_oracle_at_edge_moments(scanner_store):
    assert_scans_agree(*scanner_store, backend="cpu")
