"""A stand-in for the few cuDF calls tapescan.gpu.panels makes, backed by pandas on the host.

cuDF needs a real GPU to import, so CI cannot run it. This module offers exactly the calls the loader uses,
with cuDF's documented (pandas-like) behaviour, so that the simulator tests run the cuDF branch of the
loader end to end: `read_parquet(path, columns=...)`, boolean-mask selection, `~`, `astype`, `.values`
(a device array in cuDF, a host array here) and `.cat.categories.to_pandas()` / `.cat.codes`. Any call
beyond these fails, so the loader cannot drift to cuDF features this fake does not vouch for.
"""

from __future__ import annotations

import pandas as pd

reads: list[str] = []  # paths read, so a test can tell that this branch ran


class _Index:
    def __init__(self, index: pd.Index) -> None:
        self._index = index

    def to_pandas(self) -> pd.Index:
        return self._index


class _Categories:
    def __init__(self, series: pd.Series) -> None:
        self.categories = _Index(series.cat.categories)
        self.codes = Series(series.cat.codes)


class Series:
    def __init__(self, series: pd.Series) -> None:
        self._series = series

    def __invert__(self) -> Series:
        return Series(~self._series)

    def astype(self, dtype: str) -> Series:
        return Series(self._series.astype(dtype))

    @property
    def values(self):
        return self._series.to_numpy()

    @property
    def cat(self) -> _Categories:
        return _Categories(self._series)


class DataFrame:
    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __getitem__(self, key: str | Series) -> Series | DataFrame:
        if isinstance(key, Series):
            return DataFrame(self._frame[key._series.to_numpy()])
        return Series(self._frame[key])


def read_parquet(path: str, columns: list[str]) -> DataFrame:
    reads.append(path)
    return DataFrame(pd.read_parquet(path, columns=columns))
