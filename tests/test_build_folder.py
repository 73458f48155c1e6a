"""A build folder always holds one whole build: zero events, stale files, locks, faults, signals.

Event files are cut from the shipped records or written here (a synthetic ACLED row).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib.resources import files

import pandas as pd
import pytest
from click.testing import CliRunner

from khorasan_map import pipeline, worker
from khorasan_map.cli import main
from khorasan_map.output import BUILD_MANIFEST, staged_folder

EVERY_FILE = {
    "index.html", "choropleth.html", "points.html", "timeline.html", "report.pdf",
    "report.png", "report.svg", "provinces.csv", "provinces.geojson", "coverage.json",
    "events.csv", "events.geojson", "datapackage.json", BUILD_MANIFEST,
}
NO_EVENTS = "These files hold no Taliban-ISK events"


def shipped_rows(folder, n, name="events.csv"):
    """The first ``n`` shipped records, as a file of their own."""
    shipped = files("khorasan_map") / "data" / "taliban_isk_events.csv"
    with shipped.open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    path = folder / name
    frame.head(n).to_csv(path, index=False)
    return path


def not_taliban_isk(folder):
    """A synthetic ACLED export whose one row is outside the Taliban-ISK rivalry."""
    path = folder / "acled.csv"
    path.write_text(
        "event_id_cnty,event_date,event_type,actor1,actor2,admin1,latitude,longitude,"
        "geo_precision,country\n"
        "AFG1,2020-05-09,Protests,Protesters (Afghanistan),,Kabul,34.52,69.17,1,Afghanistan\n",
        encoding="utf-8",
    )
    return path


def with_a_bad_row(folder, n=3):
    path = shipped_rows(folder, n, "bad.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "date"] = "2021-02-30"
    frame.to_csv(path, index=False)
    return path


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def build(*args):
    return CliRunner().invoke(main, ["build", *map(str, args)])


# --------------------------------------------------------------------------------------------
# Zero events
# --------------------------------------------------------------------------------------------


def test_zero_events_is_a_normal_answer(tmp_path):
    out = tmp_path / "maps"
    result = build(not_taliban_isk(tmp_path), "--out", out)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == EVERY_FILE
    manifest = json.loads((out / BUILD_MANIFEST).read_text())
    assert manifest["events"] == 0 and manifest["note"] == NO_EVENTS + "."
    assert manifest["left_out"] == {"not Taliban-vs-ISK in Afghanistan": 1}
    for name in ("index.html", "choropleth.html", "points.html", "timeline.html", "report.svg"):
        text = (out / name).read_text("utf-8")
        assert NO_EVENTS in text, name
        assert "1 not Taliban-vs-ISK in Afghanistan" in text, name
    assert "0 of 34 provinces" in json.loads((out / "coverage.json").read_text())["sentence"]


def test_zero_events_with_every_row_rejected_exits_1_and_lists_them(tmp_path):
    out = tmp_path / "maps"
    path = with_a_bad_row(tmp_path, n=1)
    result = build(path, "--out", out, "--keep-going")
    assert result.exit_code == 1, result.output
    assert {p.name for p in out.iterdir()} == EVERY_FILE | {"rejected.csv"}
    assert "2021-02-30" in (out / "rejected.csv").read_text("utf-8-sig")
    assert json.loads((out / BUILD_MANIFEST).read_text())["left_out"] == {
        "rejected as invalid": 1
    }


# --------------------------------------------------------------------------------------------
# One whole build in the folder
# --------------------------------------------------------------------------------------------


def test_a_clean_rebuild_removes_what_the_last_build_wrote_and_this_one_did_not(tmp_path):
    out = tmp_path / "maps"
    assert build(with_a_bad_row(tmp_path), "--out", out, "--keep-going").exit_code == 1
    assert (out / "rejected.csv").exists()
    (out / "notes.txt").write_text("mine")  # put there by a person: kept
    result = build(shipped_rows(tmp_path, 3), "--out", out)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == EVERY_FILE | {"notes.txt"}
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "events.csv", "maps"]


def test_a_folder_no_build_wrote_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    result = build(shipped_rows(tmp_path, 3), "--out", out)
    assert result.exit_code == 2
    assert "holds files no build wrote" in result.stderr and str(out) in result.stderr
    assert snapshot(out) == {"thesis.docx": b"years of work"}


def test_killed_builds_leave_nothing_the_next_build_does_not_remove(tmp_path):
    out = tmp_path / "maps"
    (tmp_path / ".maps.staging-k1ll3d").mkdir()
    (tmp_path / ".maps.staging-k1ll3d" / "index.html").write_text("half")
    assert build(shipped_rows(tmp_path, 3), "--out", out).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "maps"]


def test_a_second_build_into_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "maps"
    with staged_folder(out):  # a first build, holding the lock
        result = build(shipped_rows(tmp_path, 3), "--out", out)
    assert result.exit_code == 2
    assert f"another build (process {os.getpid()}) is writing it" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_build_result_names_the_published_folder(tmp_path):
    out = tmp_path / "maps"
    result = pipeline.build([shipped_rows(tmp_path, 3)], out)
    assert result.out_dir == out
    assert {p.parent for p in result.written} == {out}
    assert {p.name for p in result.written} == EVERY_FILE


# --------------------------------------------------------------------------------------------
# Output faults: one line, exit 2, the old folder intact
# --------------------------------------------------------------------------------------------


def one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_out_below_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(build(shipped_rows(tmp_path, 3), "--out", tmp_path / "file" / "maps"),
                   str(tmp_path / "file"), "is a file")


def test_out_is_a_dangling_symlink(tmp_path):
    (tmp_path / "maps").symlink_to(tmp_path / "gone")
    one_line_error(build(shipped_rows(tmp_path, 3), "--out", tmp_path / "maps"),
                   str(tmp_path / "maps"), "does not exist")
    assert not (tmp_path / "gone").exists()


def test_out_a_symlink_to_a_folder_builds_into_that_folder(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "maps").symlink_to(tmp_path / "real")
    assert build(shipped_rows(tmp_path, 3), "--out", tmp_path / "maps").exit_code == 0
    assert (tmp_path / "maps").is_symlink()
    assert {p.name for p in (tmp_path / "real").iterdir()} == EVERY_FILE


def test_map_into_a_missing_folder(tmp_path):
    target = tmp_path / "nope" / "m.html"
    result = CliRunner().invoke(main, ["map", "-o", str(target)])
    one_line_error(result, str(tmp_path / "nope"), "does not exist")


def test_map_onto_a_dangling_symlink(tmp_path):
    (tmp_path / "m.html").symlink_to(tmp_path / "gone.html")
    result = CliRunner().invoke(main, ["map", "-o", str(tmp_path / "m.html")])
    one_line_error(result, str(tmp_path / "m.html"), "symbolic link")
    assert not (tmp_path / "gone.html").exists()


def test_a_failed_write_leaves_the_old_build(tmp_path, monkeypatch):
    out = tmp_path / "maps"
    assert build(shipped_rows(tmp_path, 3), "--out", out).exit_code == 0
    before = snapshot(out)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(out / "provinces.geojson"))

    monkeypatch.setattr(worker, "second_core", worker.Inline)
    monkeypatch.setattr("khorasan_map.export.save_json", full)
    one_line_error(build(shipped_rows(tmp_path, 5), "--out", out),
                   "No space left on device", "is left as it was")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "maps"]


# --------------------------------------------------------------------------------------------
# A real full disk and a read-only folder, in a private mount namespace where allowed
# --------------------------------------------------------------------------------------------


def _can_mount():
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="cannot mount a tmpfs here")


def in_small_tmpfs(tmp_path, size, script):
    """Run ``script`` with $D a fresh tmpfs of ``size``, in a mount namespace of its own."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    command = f'mount -t tmpfs -o size={size} tmpfs "$D" && {script}'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        env={**os.environ, "D": str(mount), "PY": sys.executable},
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )


@needs_mount
@pytest.mark.slow
def test_disk_full_is_one_line_and_keeps_the_old_build(tmp_path):
    old, new = shipped_rows(tmp_path, 3, "old.csv"), shipped_rows(tmp_path, 20, "new.csv")
    (tmp_path / "after").mkdir()
    script = (
        f'"$PY" -m khorasan_map.cli build {old} --out "$D/maps" >/dev/null 2>&1 && '
        'cp -a "$D/maps/." before/ 2>/dev/null; '
        f'"$PY" -m khorasan_map.cli build {new} --out "$D/maps"; echo "rc=$?" >&2; '
        'cp -a "$D/maps/." after/; ls -A "$D" >&2'
    )
    (tmp_path / "before").mkdir()
    done = in_small_tmpfs(tmp_path, "4000k", script)  # the old build fits, not both
    assert "rc=2" in done.stderr, done.stderr
    error, rc, *listing = done.stderr.strip().splitlines()
    assert error.startswith("Error: cannot write ") and "No space left on device" in error
    assert "is left as it was" in error and "Traceback" not in done.stderr
    assert listing == ["maps"]  # no staging folder, no lock file
    assert snapshot(tmp_path / "after") == snapshot(tmp_path / "before")
    assert {p.name for p in (tmp_path / "after").iterdir()} == EVERY_FILE


@needs_mount
@pytest.mark.slow
def test_a_read_only_folder_is_one_line(tmp_path):
    events = shipped_rows(tmp_path, 3)
    script = (
        f'"$PY" -m khorasan_map.cli build {events} --out "$D/maps" >/dev/null 2>&1 && '
        'mount -o remount,ro "$D" && '
        f'"$PY" -m khorasan_map.cli build {events} --out "$D/maps"; echo "rc=$?" >&2'
    )
    done = in_small_tmpfs(tmp_path, "4m", script)
    error, rc = done.stderr.strip().splitlines()
    assert rc == "rc=2" and "Read-only file system" in error and str(tmp_path) in error


# --------------------------------------------------------------------------------------------
# Signals: SIGTERM at several moments leaves one whole build; no worker outlives the command
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def old_and_new(tmp_path_factory):
    root = tmp_path_factory.mktemp("builds")
    old, new = shipped_rows(root, 3, "old.csv"), shipped_rows(root, 20, "new.csv")
    pipeline.build([old], root / "old")
    pipeline.build([new], root / "new")
    return root, new, snapshot(root / "old"), snapshot(root / "new")


def start_build(events, out, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "khorasan_map.cli", "build", str(events), "--out", str(out)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )


def group_gone(pgid, wait=20.0):
    """True once no process of the build's session is left (waiting for the kernel to reap)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def wait_for(folder, pattern, process, limit=300.0):
    """Wait until ``pattern`` exists in ``folder`` or the build has ended."""
    deadline = time.monotonic() + limit
    while not list(folder.glob(pattern)) and process.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern} never appeared")
        time.sleep(0.02)


# Moments of a build: starting Python, the staging folder made, the first map, the report,
# the tables, the manifest (just before the publish), and after the end.
MOMENTS = [None, ".maps.staging-*", ".maps.staging-*/index.html", ".maps.staging-*/report.pdf",
           ".maps.staging-*/provinces.csv", ".maps.staging-*/build.json", "end"]


@pytest.mark.slow
@pytest.mark.parametrize("moment", MOMENTS)
def test_sigterm_at_any_moment_leaves_one_whole_build(old_and_new, tmp_path, moment):
    root, new_events, old, new = old_and_new
    out = tmp_path / "maps"
    shutil.copytree(root / "old", out)
    build_process = start_build(new_events, out, tmp_path)
    if moment == "end":
        build_process.wait(timeout=300)
    elif moment:
        wait_for(tmp_path, moment, build_process)
    build_process.send_signal(signal.SIGTERM)
    _, stderr = build_process.communicate(timeout=300)
    code = build_process.returncode
    assert code in (0, 130, -signal.SIGTERM), stderr  # -SIGTERM: still starting Python
    assert "Traceback" not in stderr
    if code == 130:
        assert "Interrupted" in stderr
    assert snapshot(out) in (old, new)
    if moment == "end":
        assert code == 0 and snapshot(out) == new
    elif code != 0 and moment != MOMENTS[-2]:  # at the last moment the publish may be done
        assert snapshot(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"]
    assert group_gone(build_process.pid), "a worker outlived the build"


@pytest.mark.slow
def test_sigkill_leaves_the_old_build_and_no_worker(old_and_new, tmp_path):
    root, new_events, old, new = old_and_new
    out = tmp_path / "maps"
    shutil.copytree(root / "old", out)
    build_process = start_build(new_events, out, tmp_path)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".maps.staging-*/report*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the report worker is writing
    build_process.kill()
    build_process.communicate(timeout=60)
    assert group_gone(build_process.pid), "the report worker outlived a killed build"
    assert snapshot(out) == old
    result = build(new_events, "--out", out)  # the next build cleans up after the killed one
    assert result.exit_code == 0, result.output
    assert snapshot(out) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"]


@pytest.mark.slow
def test_ctrl_c_exits_130(old_and_new, tmp_path):
    root, new_events, old, _ = old_and_new
    out = tmp_path / "maps"
    shutil.copytree(root / "old", out)
    build_process = start_build(new_events, out, tmp_path)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".maps.staging-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(build_process.pid, signal.SIGINT)  # the whole group, as a terminal does
    _, stderr = build_process.communicate(timeout=300)
    assert build_process.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert snapshot(out) == old
    assert group_gone(build_process.pid)
