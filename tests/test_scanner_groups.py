"""Symbol groups: built-in index membership (now and point in time, from the packaged CSVs) and user groups."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tapescan.errors import TapescanError
from tapescan.scanner import GroupError, ScannerConfig, group_members, known_groups
from tapescan.scanner import groups as groups_module

D = datetime.date


# ---------------------------------------------------------------------------------------------- current membership


def test_current_sp500_is_about_500_tickers_spelled_as_in_the_csv() -> None:
    members = group_members("SP500")
    assert 495 <= len(members) <= 510
    assert {"AAPL", "MSFT", "BRK.B", "BF.B"} <= set(members)
    assert members == sorted(set(members))


def test_current_nasdaq100_has_the_101_rows_without_removed_date() -> None:
    members = group_members("nasdaq100")
    assert len(members) == 101
    assert {"AAPL", "ABNB", "ADBE"} <= set(members) and "AAL" not in members


def test_known_groups_without_a_store_are_the_builtins() -> None:
    assert known_groups() == ["NASDAQ100", "SP500"]


def test_unknown_group_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(GroupError, match="unknown group 'SP600'; known groups: NASDAQ100, SP500"):
        group_members("SP600")


def test_parsed_csvs_are_cached() -> None:
    assert groups_module._read_membership("sp500_current.csv") is groups_module._read_membership("sp500_current.csv")


# ---------------------------------------------------------------------------------------------- point in time
# Each fact below is read off one row of the packaged CSVs (quoted), not derived from the code.


@pytest.mark.parametrize(
    ("group", "ticker", "day", "member"),
    [
        # nasdaq100_changes.csv: AAL,,2014-12-22,2020-04-20
        ("NASDAQ100", "AAL", D(2014, 12, 19), False),
        ("NASDAQ100", "AAL", D(2014, 12, 22), True),
        ("NASDAQ100", "AAL", D(2015, 1, 2), True),
        ("NASDAQ100", "AAL", D(2020, 4, 17), True),
        ("NASDAQ100", "AAL", D(2020, 4, 20), False),
        ("NASDAQ100", "AAL", D(2020, 5, 1), False),
        # nasdaq100_changes.csv: ABNB,Airbnb,2021-12-20,
        ("NASDAQ100", "ABNB", D(2021, 12, 17), False),
        ("NASDAQ100", "ABNB", D(2021, 12, 20), True),
        # nasdaq100_changes.csv: AAPL,Apple Inc.,, (member before the table starts)
        ("NASDAQ100", "AAPL", D(2000, 1, 3), True),
        # sp500_changes.csv: AAL,,2015-03-23,2024-09-23
        ("SP500", "AAL", D(2015, 3, 20), False),
        ("SP500", "AAL", D(2020, 1, 2), True),
        ("SP500", "AAL", D(2024, 9, 23), False),
        # sp500_changes.csv: AA,,,2016-11-01
        ("SP500", "AA", D(2010, 6, 1), True),
        ("SP500", "AA", D(2016, 11, 1), False),
        # sp500_current.csv: CVNA, Carvana, Date added 2025-12-22 (absent from sp500_changes.csv)
        ("SP500", "CVNA", D(2025, 12, 19), False),
        ("SP500", "CVNA", D(2025, 12, 22), True),
        # sp500_changes.csv: CIEN,,,2009-12-18 and sp500_current.csv: CIEN, Ciena, Date added 2026-02-09
        ("SP500", "CIEN", D(2009, 6, 1), True),
        ("SP500", "CIEN", D(2015, 6, 1), False),
        ("SP500", "CIEN", D(2026, 2, 9), True),
    ],
)
def test_point_in_time_membership_matches_the_csv_rows(
    group: str, ticker: str, day: datetime.date, member: bool
) -> None:
    assert (ticker in group_members(group, as_of=day)) is member


@pytest.mark.parametrize(
    ("group", "ticker", "before", "gap", "after"),
    [
        # nasdaq100_changes.csv: AKAM,,2010-12-20,2009-12-21 (removed before it was added: left, re-added)
        ("NASDAQ100", "AKAM", D(2009, 6, 1), D(2010, 6, 1), D(2011, 6, 1)),
        # sp500_changes.csv: MXIM,,2018-12-03,2007-09-27
        ("SP500", "MXIM", D(2007, 1, 3), D(2012, 6, 1), D(2019, 6, 3)),
    ],
)
def test_a_removal_before_the_addition_means_left_and_re_added(
    group: str, ticker: str, before: datetime.date, gap: datetime.date, after: datetime.date
) -> None:
    assert ticker in group_members(group, as_of=before)
    assert ticker not in group_members(group, as_of=gap)
    assert ticker in group_members(group, as_of=after)
    assert ticker not in group_members(group)  # it has a removed_date: not a member now


def test_re_added_row_lasts_until_the_files_last_change() -> None:
    rows = [
        {"ticker": "old", "added_date": "2012-01-03", "removed_date": "2010-01-04"},
        {"ticker": "NEW", "added_date": "2015-06-01", "removed_date": ""},
        {"ticker": "GONE", "added_date": "", "removed_date": "2016-03-01"},
    ]
    assert groups_module.parse_changes(rows) == {
        "OLD": ((None, D(2010, 1, 4)), (D(2012, 1, 3), D(2016, 3, 1))),
        "NEW": ((D(2015, 6, 1), None),),
        "GONE": ((None, D(2016, 3, 1)),),
    }


def test_point_in_time_after_the_files_last_changes_is_the_current_membership() -> None:
    # sp500_current.csv's latest Date added is 2026-08-05; nasdaq100_changes.csv's latest date is 2025-11-06.
    assert group_members("SP500", as_of=D(2026, 8, 10)) == group_members("SP500")
    assert group_members("NASDAQ100", as_of=D(2026, 1, 2)) == group_members("NASDAQ100")


def test_as_of_accepts_a_datetime() -> None:
    assert group_members("NASDAQ100", as_of=datetime.datetime(2015, 1, 2, 10, 30)) == group_members(
        "NASDAQ100", as_of=D(2015, 1, 2)
    )


# ---------------------------------------------------------------------------------------------- user groups


def _store_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "groups"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return tmp_path


def test_user_group_file_is_read_with_comments_blanks_and_case(tmp_path: Path) -> None:
    store = _store_with(tmp_path, {
        "tech.txt": b"# my tech names\n\nnvda\n  AAPL  # the big one\nbrk.b\nAAPL\n",
        "Banks.txt": b"JPM\n",
        "notes.md": b"not a group\n",
    })
    assert known_groups(store) == ["BANKS", "NASDAQ100", "SP500", "TECH"]
    assert group_members("Tech", store_root=store) == ["AAPL", "BRK.B", "NVDA"]
    assert group_members("TECH", as_of=D(2001, 1, 2), store_root=store) == ["AAPL", "BRK.B", "NVDA"]
    assert group_members("banks", store_root=store) == ["JPM"]


def test_user_groups_become_known_to_the_config(tmp_path: Path) -> None:
    store = _store_with(tmp_path, {"tech.txt": b"NVDA\n"})
    config = ScannerConfig.model_validate({"symbols_group": ["tech"]}, context={"groups": known_groups(store)})
    assert config.symbols_group == ["TECH"]


def test_store_without_groups_folder_has_only_builtins(tmp_path: Path) -> None:
    assert known_groups(tmp_path) == ["NASDAQ100", "SP500"]
    with pytest.raises(GroupError, match="unknown group 'TECH'"):
        group_members("tech", store_root=tmp_path)


@pytest.mark.parametrize("name", ["sp500.txt", "NASDAQ100.txt"])
def test_user_group_cannot_shadow_a_builtin(tmp_path: Path, name: str) -> None:
    store = _store_with(tmp_path, {name: b"AAPL\n"})
    for call in (lambda: known_groups(store), lambda: group_members("anything", store_root=store)):
        with pytest.raises(GroupError) as caught:
            call()
        assert str(store / "groups" / name) in str(caught.value) and "built-in group" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"AAPL\nMSFT\nBRK B\n", "line 3: 'BRK B' is not a ticker"),
        (b"AAPL\n\xff\xfe\n", "line 2: not UTF-8 text"),
        (b"AAPL\n# fine\nAB$C\n", "line 3: 'AB$C' is not a ticker"),
    ],
)
def test_bad_user_group_file_names_file_and_line(tmp_path: Path, content: bytes, phrase: str) -> None:
    store = _store_with(tmp_path, {"mine.txt": content})
    with pytest.raises(TapescanError) as caught:
        group_members("MINE", store_root=store)
    assert isinstance(caught.value, GroupError)
    assert f"{store / 'groups' / 'mine.txt'}, {phrase}" in str(caught.value)


def test_bad_group_file_name_is_an_error(tmp_path: Path) -> None:
    store = _store_with(tmp_path, {"my group.txt": b"AAPL\n"})
    with pytest.raises(GroupError, match="my group.txt: a group file's name"):
        known_groups(store)
