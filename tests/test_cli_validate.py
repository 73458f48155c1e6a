"""Tests for the ``khorasan-map validate`` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from khorasan_map.cli import EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, main

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "event_id,date,kind,province,source_url"


def run(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args), "--today", "2025-06-01"])


def test_all_valid_exits_0():
    result = run(FIXTURES / "events_valid.csv")
    assert result.exit_code == EXIT_OK, result.output
    assert "5 valid, 0 rejected" in result.output


def test_rejected_rows_exit_1_and_are_listed(tmp_path):
    out = tmp_path / "rejected.csv"
    result = run(FIXTURES / "acled_sample.csv", "--rejected", out)
    assert result.exit_code == EXIT_REJECTED
    assert "row 10, column event_date: '2019-02-30' is not a real calendar date" in result.output
    assert "warning: row 13" in result.output
    rejected = pd.read_csv(out)
    assert list(rejected["row"]) == [9, 10, 11]
    assert {"row", "event_id", "column", "value", "reason", "notes"} <= set(rejected.columns)


def test_many_problems_show_a_summary_and_the_first_rows(tmp_path):
    rows = [f"E{i},2021-02-30,clash,Kabul,https://x.org/{i}" for i in range(30)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = run(path)
    assert result.exit_code == EXIT_REJECTED
    assert "30 rows read from many.csv: 0 valid, 30 rejected" in result.output
    assert "row 20, column date" in result.output and "row 21, column" not in result.output
    assert "... and 10 more" in result.output
    assert "--rejected" in result.output


def test_unusable_inputs_exit_2_without_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    fake = tmp_path / "fake.parquet"
    fake.write_text("event_id,date\nE1,2020-01-01\n", encoding="utf-8")
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("a,b\n1,2\n", encoding="utf-8")
    folder = tmp_path / "no_events"  # a folder is read file by file: this one holds none
    folder.mkdir()
    (folder / "notes.md").write_text("nothing here\n", encoding="utf-8")
    for path, says in (
        (tmp_path / "missing.csv", "no such file"),
        (folder, "directory with no event files"),
        (empty, "empty"),
        (fake, "not a Parquet file"),
        (nocols, "missing required columns"),
    ):
        result = run(path)
        assert result.exit_code == EXIT_UNUSABLE, (path, result.output)
        assert says in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_source_and_keep_all_options():
    forced = run(FIXTURES / "events_valid.csv", "--source", "ucdp")
    assert forced.exit_code == EXIT_UNUSABLE and "UCDP" in forced.output
    kept = run(FIXTURES / "acled_sample.csv", "--keep-all")
    assert "14 rows read" in kept.output and "left out" not in kept.output


def test_several_files_name_each_file():
    result = run(FIXTURES / "events_valid.csv", FIXTURES / "ucdp_ged_sample.csv")
    assert result.exit_code == EXIT_REJECTED
    assert "ucdp_ged_sample.csv row 12" in result.output
