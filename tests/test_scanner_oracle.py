"""tapescan's scan and sweep on the CPU agree row for row with the oracle scanner (tests/scanner_agreement.py)."""

from __future__ import annotations

import pytest

from tapescan.store import Store
from tests.scanner_agreement import assert_scans_agree, assert_sweep_agrees
from tests.scanner_market import scanner_market


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> tuple[Store, dict]:
    store = Store.create(tmp_path_factory.mktemp("oracle") / "store")
    return store, scanner_market(store)


def test_sweep_and_first_hit_sweep_agree_with_the_oracle(market):
    assert_sweep_agrees(*market, backend="cpu")


def test_scans_without_filters_agree_with_the_oracle_at_edge_moments(market):
    assert_scans_agree(*market, backend="cpu")
