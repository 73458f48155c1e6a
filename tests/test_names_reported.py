"""A province name that needed a corrected spelling is said, with the text as given."""

from click.testing import CliRunner

from khorasan_map.cli import main

HEADER = "event_id,date,kind,province,location_precision,confidence,source_url\n"


def _write(tmp_path, *provinces):
    rows = "".join(f"x{i},2019-03-01,clash,{p},province,high,https://example.org/{i}\n"
                   for i, p in enumerate(provinces, start=1))
    path = tmp_path / "names.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_corrected_spellings_are_warned_with_the_text_as_given(tmp_path):
    path = _write(tmp_path, "Nangarhr", "Kunarr", "Kabul Province", "kunar")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "'Nangarhr' read as Nangarhar (AF-NAN), a corrected spelling" in result.output
    assert "'Kunarr' read as Kunar (AF-KNR), a corrected spelling" in result.output
    # case, spacing and affixes alone are not corrections
    assert "Kabul Province' read as" not in result.output
    assert "'kunar' read as" not in result.output


def test_an_ambiguous_spelling_is_refused_with_both_suggestions(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(_write(tmp_path, "Pakita"))])
    assert result.exit_code == 1
    assert "Paktia (AF-PIA)" in result.output and "Paktika (AF-PKA)" in result.output


def test_the_warning_is_in_the_validation_result(tmp_path):
    from khorasan_map.events import read_events

    events = read_events(_write(tmp_path, "Nangarhr"))
    assert list(events["province_code"]) == ["AF-NAN"]


def test_a_corrected_spelling_is_kept_as_given_beside_its_code(tmp_path):
    from khorasan_map.events import read_events
    from khorasan_map.join import assign_provinces

    events = read_events(_write(tmp_path, "Nangarhr", "kunar"))
    assert list(events["province"]) == ["Nangarhr", "Kunar"]
    assert list(events["province_code"]) == ["AF-NAN", "AF-KNR"]
    placed = assign_provinces(events)
    assert list(placed.events["assigned_code"]) == ["AF-NAN", "AF-KNR"]
    assert list(placed.events["assigned_province"]) == ["Nangarhar", "Kunar"]
