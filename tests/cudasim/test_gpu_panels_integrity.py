"""The GPU loader never builds a panel from a damaged partition: with pyarrow (page checksums) and with cuDF
(tests/fake_cudf.py; cuDF cannot verify page checksums, so the loader checks the file's sha256 first).

Run as their own process with NUMBA_ENABLE_CUDASIM=1 (make test-cudasim); a small store.
"""

from __future__ import annotations

import os
import sys

import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before Python starts (make test-cudasim)", allow_module_level=True)

from tapescan.errors import StoreDamagedError
from tapescan.gpu.panels import load_session
from tapescan.store import Store
from tapescan.store.manifest import load_manifest
from tapescan.synth import write_synthetic_market
from tests import fake_cudf

DAY = "2024-12-02"


@pytest.mark.parametrize("reader", ["pyarrow", "cudf"])
def test_a_garbled_partition_is_reported_not_loaded(tmp_path, monkeypatch, reader):
    store = Store.create(tmp_path / "store")
    write_synthetic_market(store, 3, DAY, DAY, seed=1)
    if reader == "cudf":
        monkeypatch.setitem(sys.modules, "cudf", fake_cudf)
    path = store.path / load_manifest(store.path).bars_1m[DAY].file
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 21] = bytes(b ^ 0x5A for b in data[middle:middle + 21])
    path.write_bytes(data)
    fake_cudf.reads.clear()
    with pytest.raises(StoreDamagedError, match="tapescan verify") as caught:
        load_session(store, DAY, threads=8)
    assert str(path) in str(caught.value) and not fake_cudf.reads
