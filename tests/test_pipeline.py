"""The main job: `khorasan-map build` writes every file, or nothing, with the right exit code."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from click.testing import CliRunner

from khorasan_map import worker
from khorasan_map.cli import main

EVERY_FILE = {
    "index.html",
    "choropleth.html",
    "points.html",
    "timeline.html",
    "report.pdf",
    "report.png",
    "report.svg",
    "provinces.csv",
    "provinces.geojson",
    "coverage.json",
}


@pytest.fixture(scope="module")
def shipped_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "maps"
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    return result, out


@pytest.fixture
def events_with_one_bad_row(tmp_path):
    shipped = (files("khorasan_map") / "data" / "taliban_isk_events.csv").read_text("utf-8")
    header, first, *rest = shipped.splitlines()
    bad = first.replace(first.split(",")[0], "BAD-1", 1)
    columns = header.split(",")
    cells = bad.split(",")
    cells[columns.index("date")] = "2021-02-30"
    path = tmp_path / "events.csv"
    path.write_text("\n".join([header, first, ",".join(cells), *rest[:5]]) + "\n", "utf-8")
    return path


def test_build_writes_every_file(shipped_build):
    result, out = shipped_build
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= EVERY_FILE
    assert not (out / "rejected.csv").exists()
    assert "provinces" in result.output and "index.html" in result.output


def test_coverage_json_matches_the_coverage_command(shipped_build):
    _, out = shipped_build
    written = json.loads((out / "coverage.json").read_text())
    printed = json.loads(CliRunner().invoke(main, ["coverage", "--json"]).output)
    assert written["provinces_with_events"] == printed["provinces_with_events"]
    assert written["province_codes"] == printed["province_codes"]


def test_builds_are_byte_identical(shipped_build, tmp_path):
    _, first = shipped_build
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    for path in sorted(first.iterdir()):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def test_no_half_written_files(shipped_build):
    _, out = shipped_build
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_rejected_rows_stop_the_build_and_write_nothing(events_with_one_bad_row, tmp_path):
    out = tmp_path / "maps"
    result = CliRunner().invoke(main, ["build", str(events_with_one_bad_row), "--out", str(out)])
    assert result.exit_code == 1  # rows rejected (1), whether or not the build kept going
    assert "row 2" in result.output and "date" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_keep_going_writes_the_rest_and_the_rejects(events_with_one_bad_row, tmp_path):
    out = tmp_path / "maps"
    args = ["build", str(events_with_one_bad_row), "--out", str(out), "--keep-going"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert {p.name for p in out.iterdir()} >= EVERY_FILE | {"rejected.csv"}
    assert "2021-02-30" in (out / "rejected.csv").read_text()
    for name in ("index.html", "choropleth.html", "points.html", "timeline.html", "report.svg"):
        assert "1 rejected as invalid" in (out / name).read_text("utf-8"), name


def test_map_command_counts_rejected_rows_as_left_out(events_with_one_bad_row, tmp_path):
    html = tmp_path / "map.html"
    args = ["map", str(events_with_one_bad_row), "--type", "points", "-o", str(html)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # drawn, with rows rejected
    assert "Left out: 1 event (1 rejected as invalid)" in html.read_text("utf-8")


def test_missing_file_is_unusable_input(tmp_path):
    result = CliRunner().invoke(main, ["build", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_offline_build_has_no_external_scripts(tmp_path):
    out = tmp_path / "maps"
    result = CliRunner().invoke(main, ["build", "--offline", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "index.html").read_text()
    assert '<script src="http' not in html and "unpkg.com" not in html


def test_report_drawn_inline_where_no_second_core(tmp_path, monkeypatch):
    from khorasan_map import pipeline

    monkeypatch.setattr(worker, "second_core", worker.Inline)
    result = pipeline.build(out_dir=tmp_path / "maps")
    assert {p.name for p in result.written} >= EVERY_FILE


def test_a_big_first_task_goes_to_a_child_forked_for_it(tmp_path, monkeypatch, shipped_build):
    """Above worker.INHERIT_ROWS rows the report's child inherits the events, not a pickle."""
    import os
    import sys

    from khorasan_map import pipeline

    if not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2:
        pytest.skip("the report has its own process only on Linux with two cores")
    monkeypatch.setattr(worker, "INHERIT_ROWS", 0)
    sent = []
    original = worker.ForkWorker._start
    monkeypatch.setattr(worker.ForkWorker, "_start",
                        lambda self, warm_up, task: sent.append(task) or original(self, warm_up,
                                                                                 task))
    result = pipeline.build(out_dir=tmp_path / "maps")
    assert [task is None for task in sent] == [True, False]  # warmed up, then forked for it
    _, earlier = shipped_build
    for name in ("report.pdf", "report.png", "report.svg"):
        assert (result.out_dir / name).read_bytes() == (earlier / name).read_bytes()


def test_a_failing_report_fails_the_build(tmp_path, monkeypatch):
    from khorasan_map import pipeline

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(worker, "second_core", worker.Inline)
    monkeypatch.setattr(pipeline, "_write_report", broken)
    with pytest.raises(OSError, match="disk full"):
        pipeline.build(out_dir=tmp_path / "maps")


def counted_to(n, fail_at=None, die_at=None):
    """A task for the report's worker: yield 0 .. n-1, failing or dying at the value given."""
    import os

    for i in range(n):
        if i == fail_at:
            raise OSError("disk full")
        if i == die_at:
            os._exit(3)
        yield i


def two_cores():
    import os
    import sys

    if not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2:
        pytest.skip("the report has its own process only on Linux with two cores")


@pytest.mark.parametrize("kind", ["inline", "fork"])
def test_a_worker_hands_out_each_value_then_the_fault(kind):
    if kind == "fork":
        two_cores()
    with (worker.Inline() if kind == "inline" else worker.ForkWorker()) as running:
        assert list(running.stream(counted_to, 3)) == [0, 1, 2]
        values = running.stream(counted_to, 3, fail_at=1)
        assert next(values) == 0
        with pytest.raises(OSError, match="disk full"):
            next(values)


def test_a_child_that_dies_mid_task_is_said(tmp_path):

    two_cores()
    with worker.ForkWorker() as running:
        values = running.stream(counted_to, 3, die_at=1)
        assert next(values) == 0
        with pytest.raises(RuntimeError, match="ended with code 3 before finishing"):
            next(values)
        with pytest.raises(RuntimeError):  # and says so again, rather than wait
            next(values)


def test_the_child_sends_on_while_this_process_is_busy(tmp_path):
    """A value larger than a pipe's buffer is received on a thread: the child goes on."""
    import time


    two_cores()
    marker = tmp_path / "went-on"
    with worker.ForkWorker() as running:
        values = running.stream(big_then_mark, marker)
        for _ in range(300):  # not asking for any value meanwhile
            if marker.exists():
                break
            time.sleep(0.1)
        assert marker.exists(), "the child waited for this process to read its value"
        assert len(next(values)) == 8_000_000 and next(values) == "marked"


def test_the_worker_s_threads_leave_signals_to_the_main_thread():
    """Else a Ctrl-C could land on a thread while the main one holds it back to publish."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        pytest.skip("no per-thread signal masks here")
    seen = {}
    thread = worker._signal_free_thread(
        lambda: seen.update(mask=signal.pthread_sigmask(signal.SIG_BLOCK, set())))
    thread.join()
    assert {signal.SIGINT, signal.SIGTERM} <= seen["mask"]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # here: as was


def big_then_mark(marker):
    yield b"x" * 8_000_000
    marker.touch()
    yield "marked"


def test_many_events_are_written_as_geoparquet_not_geojson(tmp_path, monkeypatch):
    import geopandas as gpd
    import pandas as pd

    from khorasan_map import settings

    monkeypatch.setattr(settings, "GEOJSON_MAX_EVENTS", 3)  # the shipped records are more
    out = tmp_path / "maps"
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "events.geojson").exists()
    assert "Not written: events.geojson: " in result.output
    assert "over settings.GEOJSON_MAX_EVENTS (3)" in result.output
    manifest = json.loads((out / "build.json").read_text("utf-8"))
    assert any(note.startswith("events.geojson: ") for note in manifest["not_written"])
    points = gpd.read_parquet(out / "events.parquet")
    table = pd.read_csv(out / "events.csv", encoding="utf-8-sig")
    assert points.crs.to_epsg() == 4326
    assert points["event_id"].tolist() == table["event_id"].tolist()
    located = points.geometry.notna().to_numpy()
    assert points.geometry.x[located].round(6).tolist() == table["longitude"][located].tolist()
    package = json.loads((out / "datapackage.json").read_text("utf-8"))
    entry = next(r for r in package["resources"] if r["path"] == "events.parquet")
    assert entry["format"] == "parquet" and "encoding" not in entry
