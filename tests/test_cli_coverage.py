"""Tests for ``khorasan-map coverage``: text and JSON output, options, exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from khorasan_map import cli


def placed_events():
    """Events already placed in provinces of the shipped layer (as a JoinResult gives them)."""
    rows = [
        ("e1", "2015-03-01", "clash", "high", "AF-NAN"),
        ("e2", "2017-06-01", "clash", "medium", "AF-KNR"),
        ("e3", "2021-09-10", "clash", "high", "AF-KAB"),
        ("e4", "2021-10-01", "defection", "low", "AF-ZAB"),
        ("e5", "2019-01-01", "clash", "low", "AF-JOW"),
    ]
    frame = pd.DataFrame(rows, columns=["event_id", "date", "kind", "confidence", "assigned_code"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["date_start"] = frame["date"]
    frame["date_end"] = frame["date"]
    return frame


@pytest.fixture
def runner(monkeypatch):
    calls = []

    def fake_read(paths, source_format):
        calls.append((tuple(paths), source_format))
        return placed_events(), {}

    monkeypatch.setattr(cli, "_read_events_argument", fake_read)
    runner = CliRunner()
    runner.calls = calls
    return runner


def test_text_output(runner):
    result = runner.invoke(cli.main, ["coverage"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Clashes recorded in 4 of 34 provinces (12%), 2015-03-01 to 2021-09-10"
    assert lines[1].startswith("Provinces: ")
    assert "Nangarhar (AF-NAN)" in lines[1]
    assert any(line.startswith("Before 2021-08-15: Clashes recorded in 3 of 34") for line in lines)
    assert any(line.startswith("From 2021-08-15: Clashes recorded in 1 of 34") for line in lines)
    assert "Provinces by year: 2015: 1, 2016: 0" in result.output
    assert "left out 1 (kind not selected: 1)" in result.output
    assert runner.calls == [((), "auto")]


def test_json_output_keys_and_filters(runner):
    args = ["coverage", "--json", "--min-confidence", "high", "--split-date", "2020-01-01"]
    result = runner.invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in (
        "provinces_with_events",
        "total_provinces",
        "share",
        "province_codes",
        "since",
        "until",
        "kinds",
        "sentence",
        "by_year",
        "split_date",
        "before",
        "after",
        "n_events",
        "n_left_out",
    ):
        assert key in data
    assert data["province_codes"] == ["AF-KAB", "AF-NAN"]
    assert data["total_provinces"] == 34
    assert data["kinds"] == ["clash"] and data["min_confidence"] == "high"
    assert data["split_date"] == "2020-01-01"
    assert data["before"]["province_codes"] == ["AF-NAN"]
    assert data["after"]["province_codes"] == ["AF-KAB"]


def test_json_kind_and_window(runner):
    args = ["coverage", "--json", "--kind", "all", "--since", "2017", "--until", "2021-12"]
    data = json.loads(runner.invoke(cli.main, args).output)
    assert data["kinds"] == ["all"]
    assert (data["since"], data["until"]) == ("2017-01-01", "2021-12-31")
    assert data["province_codes"] == ["AF-JOW", "AF-KAB", "AF-KNR", "AF-ZAB"]
    assert data["sentence"].startswith("Events recorded in 4 of 34 provinces (12%)")
    data = json.loads(
        runner.invoke(cli.main, ["coverage", "--json", "--kind", "clash,defection"]).output
    )
    assert data["kinds"] == ["clash", "defection"]
    assert data["sentence"].startswith("Clashes or defections recorded in 5 of 34 provinces (15%)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2021-13-01"], "'2021-13-01' is not a date"),
        (["--until", "soon"], "'soon' is not a date"),
        (["--split-date", "x"], "'x' is not a date"),
        (["--kind", "clashes"], "unknown kind 'clashes'"),
        (["--min-confidence", "certain"], "certain"),
        (["--source", "gdelt"], "gdelt"),
        (["--since", "2021", "--until", "2020"], "is after until"),
    ],
)
def test_bad_options_exit_2(runner, args, message):
    result = runner.invoke(cli.main, ["coverage", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    if "--kind" in args:
        assert "valid kinds: clash, defection, isk_attack_on_taliban" in result.output


def test_missing_file_exit_2(runner, tmp_path):
    missing = tmp_path / "nope.csv"
    result = runner.invoke(cli.main, ["coverage", str(missing)])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli.main, ["coverage", str(tmp_path)])
    assert result.exit_code == 2


def test_package_errors_exit_2(monkeypatch):
    from khorasan_map.errors import InputFileError

    def broken(paths, source_format):
        raise InputFileError("events.csv is empty")

    monkeypatch.setattr(cli, "_read_events_argument", broken)
    result = CliRunner().invoke(cli.main, ["coverage"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: events.csv is empty"


def test_help_lists_options():
    result = CliRunner().invoke(cli.main, ["coverage", "--help"])
    assert result.exit_code == 0
    for option in (
        "--since",
        "--until",
        "--kind",
        "--min-confidence",
        "--source",
        "--split-date",
        "--json",
    ):
        assert option in result.output


# ---------------------------------------------------------------------------------------------
# the real readers and join, on files written here and on the shipped dataset
# ---------------------------------------------------------------------------------------------


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_several_files_concatenated_with_rejected_rows_reported(tmp_path):
    a = write(
        tmp_path / "a.csv",
        "event_id,date,kind,province_code,latitude,longitude,location_precision,confidence\n"
        "a1,2016-05-01,clash,AF-NAN,,,province,high\n"
        "a2,2022-03-01,clash,,34.52,69.17,exact,medium\n"
        "a3,2019-02-30,clash,AF-KNR,,,province,high\n",
    )
    b = write(
        tmp_path / "b.csv",
        "event_id,date,kind,province,confidence\n"
        "b1,2017-07-01,defection,Zabul,low\n"
        "b2,2018-07-01,clash,Kunar,high\n",
    )
    result = CliRunner().invoke(cli.main, ["coverage", a, b, "--json"])
    assert result.exit_code == 1, result.output  # counted, with a row rejected
    data = json.loads(result.stdout)
    assert data["province_codes"] == ["AF-KAB", "AF-KNR", "AF-NAN"]  # a2 placed by its point
    assert data["n_events"] == 3 and data["left_out_reasons"] == {"kind not selected": 1}
    assert data["before"]["province_codes"] == ["AF-KNR", "AF-NAN"]
    assert data["after"]["province_codes"] == ["AF-KAB"]
    assert "1 of 5 rows rejected" in result.stderr
    assert "a.csv row 3, column date" in result.stderr
    text = CliRunner().invoke(cli.main, ["coverage", a, b, "--kind", "all"])
    assert text.stdout.splitlines()[0] == (
        "Events recorded in 4 of 34 provinces (12%), 2016-05-01 to 2022-03-01"
    )


def test_unusable_file_exit_2_one_line(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    result = CliRunner().invoke(cli.main, ["coverage", empty])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_shipped_dataset():
    result = CliRunner().invoke(cli.main, ["coverage", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_provinces"] == 34
    assert 1 <= data["provinces_with_events"] <= 34
    assert data["province_codes"] == sorted(data["province_codes"])
    assert data["sentence"].startswith(f"Clashes recorded in {data['provinces_with_events']} of 34")


def test_bad_kind_fails_before_reading(runner):
    result = runner.invoke(cli.main, ["coverage", "--kind", "raid"])
    assert result.exit_code == 2
    assert runner.calls == []
