"""The one CSV writer, atomic writes that never follow a link, terminal text (synthetic data)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from click.testing import CliRunner

from khorasan_map import output
from khorasan_map.cli import main
from khorasan_map.errors import OutputError
from khorasan_map.export import save_table
from khorasan_map.output import escape_control, write_csv

ATTACK = "Kunar\r=cmd|' /C calc'!A0"


def rows_of(path):
    """Parse a written CSV the way a spreadsheet does: BOM stripped, quoted cells whole."""
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_bare_cr_inside_a_cell_is_quoted_and_stays_in_its_row(tmp_path):
    out = write_csv(pd.DataFrame({"note": [ATTACK, "b\nc"], "n": [1, 2]}), tmp_path / "t.csv")
    raw = out.read_bytes()
    assert b'"Kunar\r=cmd' in raw and b'"b\nc"' in raw
    assert rows_of(out) == [["note", "n"], [ATTACK, "1"], ["b\nc", "2"]]
    assert pd.read_csv(out)["note"].tolist() == [ATTACK, "b\nc"]


@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_prefixes_are_neutralised(tmp_path, cell):
    out = write_csv(pd.DataFrame({"note": [cell]}), tmp_path / "t.csv")
    assert rows_of(out)[1] == ["'" + cell]


def test_numbers_and_plain_text_are_left_as_they_are(tmp_path):
    frame = pd.DataFrame({"note": ["-12.5", "+3", "Kunar"], "n": [-1, 2, 3]})
    assert rows_of(write_csv(frame, tmp_path / "t.csv"))[1:] == [
        ["-12.5", "-1"], ["+3", "2"], ["Kunar", "3"]
    ]


def test_column_names_are_neutralised_too(tmp_path):
    out = write_csv(pd.DataFrame({"=HYPERLINK(1)": ["x"]}), tmp_path / "t.csv")
    assert rows_of(out)[0] == ["'=HYPERLINK(1)"]


def test_utf8_with_a_byte_order_mark_and_crlf(tmp_path):
    out = write_csv(pd.DataFrame({"province_dari": ["کنر"]}), tmp_path / "t.csv")
    raw = out.read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"province_dari"\r\n')
    assert pd.read_csv(out).columns.tolist() == ["province_dari"]  # pandas drops the BOM


def test_save_table_writes_csv_through_the_one_writer(tmp_path):
    frame = pd.DataFrame({"note": [ATTACK], "date": pd.to_datetime(["2021-08-26"])})
    a = save_table(frame, tmp_path / "a.csv")
    b = write_csv(frame, tmp_path / "b.csv")
    assert a.read_bytes() == b.read_bytes()


def test_a_symlink_is_never_written_through(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "t.csv"
    link.symlink_to(target)
    with pytest.raises(OutputError, match="symbolic link"):
        write_csv(pd.DataFrame({"a": [1]}), link)
    assert target.read_text() == "keep" and link.is_symlink()


def test_a_dangling_symlink_is_refused(tmp_path):
    link = tmp_path / "t.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(OutputError, match="does not exist"):
        write_csv(pd.DataFrame({"a": [1]}), link)
    assert not (tmp_path / "nowhere.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary file left


def test_a_failed_write_names_the_destination_not_the_temporary_file(tmp_path):
    def broken(tmp):
        raise OSError(28, "No space left on device", str(tmp))

    with pytest.raises(OSError, match="No space left") as caught:
        output.atomic_write(tmp_path / "x.csv", broken)
    assert caught.value.filename == str(tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# validate --rejected
# --------------------------------------------------------------------------------------------


def bad_events(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,date,kind,province_code,location_precision,confidence,description\n"
        "x1,2019-02-30,clash,AF-KNR,province,high,=cmd|' /C calc'!A0\n"
        "x2,2019-03-01,clash,AF-KNR,province,high,fine\n",
        encoding="utf-8",
    )
    return path


def test_validate_rejected_goes_through_the_one_writer(tmp_path):
    out = tmp_path / "rejected.csv"
    result = CliRunner().invoke(main, ["validate", str(bad_events(tmp_path)), "--rejected",
                                       str(out)])
    assert result.exit_code == 1, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = rows_of(out)
    assert "'=cmd|' /C calc'!A0" in rows[1]


def test_validate_rejected_refuses_a_symlink_in_one_line(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    link = tmp_path / "rejected.csv"
    link.symlink_to(target)
    result = CliRunner().invoke(main, ["validate", str(bad_events(tmp_path)), "--rejected",
                                       str(link)])
    assert result.exit_code == 2
    assert "symbolic link" in result.stderr and "Traceback" not in result.output
    assert target.read_text() == "keep"


# --------------------------------------------------------------------------------------------
# Terminal text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["\x1b[2J", "\x1b]0;owned\x07", "\x9b31m", "a\rb", "\x00", "\x7f", "\u202eevil"],
)
def test_control_characters_are_escaped(raw):
    escaped = escape_control(raw)
    assert not any(ch in escaped for ch in "\x1b\x07\x9b\r\x00\x7f\u202e")
    assert "\\u" in escaped


def test_newlines_and_tabs_are_kept():
    assert escape_control("a\n\tb") == "a\n\tb"


def test_cli_messages_escape_control_characters_from_the_data(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,date,kind,province_code,location_precision,confidence\n"
        "x1,2019-02-30\x1b]0;owned\x07,clash,AF-KNR\x9b2J,province,high\n",
        encoding="utf-8",
    )
    for args in (["validate", str(path)], ["coverage", str(path)], ["build", str(path), "--out",
                                                                      str(tmp_path / "o")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        assert not any(ch in result.output for ch in "\x1b\x07\x9b"), args


def test_every_printed_message_goes_through_the_escaping(monkeypatch, tmp_path):
    from khorasan_map import events
    from khorasan_map.errors import InputFileError

    def hostile(*args, **kwargs):
        raise InputFileError("x.csv: bad header \x1b]0;owned\x07")

    monkeypatch.setattr(events, "read_events", hostile)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("event_id\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "x.csv"])
    assert result.exit_code == 2
    assert result.stderr == "Error: x.csv: bad header \\u001b]0;owned\\u0007\n"


def test_help_lists_the_exit_codes_for_every_command():
    for command in ([], ["build"], ["coverage"], ["map"], ["export"], ["validate"]):
        text = CliRunner().invoke(main, [*command, "--help"]).output
        assert "Exit codes:" in text, command
        for code in ("0", "1", "2", "130"):
            assert f"\n    {code} " in text, (command, code)


def test_text_is_quoted_numbers_are_not_and_mixed_cells_are_text(tmp_path):
    frame = pd.DataFrame({
        "note": ["-12", "-a", None],
        "value": [1, "x", None],  # a rejected row's own cells: any mix of types
        "fatalities": [3.0, None, 2.5],
        "flag": [True, False, True],
    })
    lines = write_csv(frame, tmp_path / "t.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[:4] == [
        '"note","value","fatalities","flag"',
        '"-12","1",3,true',  # a plain number is not a formula
        "\"'-a\",\"x\",,false",
        ",,2.5,true",
    ]


def test_only_ascii_digits_make_a_number(tmp_path):
    out = write_csv(pd.DataFrame({"n": ["-\u0663"]}), tmp_path / "t.csv")  # ARABIC-INDIC 3
    assert rows_of(out)[1] == ["'-\u0663"]
