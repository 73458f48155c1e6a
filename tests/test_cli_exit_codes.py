"""One exit-code table for every command: 0, 1, 2 and 130 (synthetic event files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from khorasan_map import events
from khorasan_map.cli import EXIT_CODES, main

GOOD = (
    "event_id,date,kind,province_code,location_precision,confidence\n"
    "s1,2019-03-01,clash,AF-KNR,province,high\n"
    "s2,2020-03-01,clash,AF-NAN,province,medium\n"
)
BAD = GOOD + "s3,2019-02-30,clash,AF-KNR,province,high\n"


def command(name, tmp_path, events_path):
    """The arguments of ``name`` run on ``events_path``, writing into ``tmp_path``."""
    out = {
        "build": ["--out", str(tmp_path / "maps"), "--keep-going"],
        "coverage": [],
        "map": ["-o", str(tmp_path / "m.html")],
        "export": ["-o", str(tmp_path / "m.png"), "--dpi", "20"],
        "validate": [],
    }[name]
    return [name, str(events_path), *out]


COMMANDS = ["build", "coverage", "map", "export", "validate"]


def write(tmp_path, text):
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", COMMANDS)
def test_0_success(tmp_path, name):
    result = CliRunner().invoke(main, command(name, tmp_path, write(tmp_path, GOOD)))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_1_rows_rejected(tmp_path, name):
    result = CliRunner().invoke(main, command(name, tmp_path, write(tmp_path, BAD)))
    assert result.exit_code == 1, result.output
    assert "row 3" in result.output and "Traceback" not in result.output


def test_1_build_without_keep_going_writes_nothing(tmp_path):
    args = ["build", str(write(tmp_path, BAD)), "--out", str(tmp_path / "maps")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "nothing was written" in result.stderr and not (tmp_path / "maps").exists()


@pytest.mark.parametrize("name", COMMANDS)
def test_2_unusable_input(tmp_path, name):
    result = CliRunner().invoke(main, command(name, tmp_path, tmp_path / "missing.csv"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "missing.csv" in result.stderr


@pytest.mark.parametrize("name", COMMANDS)
def test_2_usage_error(tmp_path, name):
    result = CliRunner().invoke(main, [name, "--no-such-option"])
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_2_internal_error_is_one_line(tmp_path, name, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(events, "read_events", bug)
    result = CliRunner().invoke(main, command(name, tmp_path, write(tmp_path, GOOD)))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: internal error (ZeroDivisionError")
    assert "--debug" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_130_interrupted(tmp_path, name, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(events, "read_events", interrupted)
    result = CliRunner().invoke(main, command(name, tmp_path, write(tmp_path, GOOD)))
    assert result.exit_code == 130, result.output
    assert "Interrupted" in result.stderr


def test_the_readme_gives_the_same_table():
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in readme, code


# The command, with read_events replaced by code that exec() runs from a string (as dataclasses
# and namedtuple do) and that is interrupted there by a signal the process sends itself.
_SIGNALLED_IN_EXEC = """
import os, signal, sys
from khorasan_map import cli, events

SIGNUM = int(sys.argv[2])

def read_events(*args, **kwargs):
    exec("os.kill(os.getpid(), signum)\\nwhile True: pass",
         {"os": os, "signum": SIGNUM})

events.read_events = read_events
sys.argv = ["khorasan-map", "validate", sys.argv[1]]
cli.main()
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_130_when_interrupted_inside_exec(tmp_path, signum):
    # Run with -m (as `python -m khorasan_map.cli`), CPython ends a process by SIGINT, whatever
    # its exit code, once a bare KeyboardInterrupt has left exec'd code; the command's own
    # Interrupted does not count as one.
    (tmp_path / "signalled.py").write_text(_SIGNALLED_IN_EXEC, encoding="utf-8")
    source = str(Path(__file__).parents[1] / "src")
    done = subprocess.run(
        [sys.executable, "-m", "signalled", str(write(tmp_path, GOOD)), str(int(signum))],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), source])},
    )
    assert done.returncode == 130, done.stderr
    assert "Interrupted" in done.stderr and "Traceback" not in done.stderr


# The console command (cli.run) ends the process without tearing Python down: its exit code,
# its output and the exit handlers must be those of a normal exit.
_RUN_WITH_AN_EXIT_HANDLER = """
import atexit, sys
from pathlib import Path
from khorasan_map import cli

atexit.register(Path(sys.argv[1]).write_text, "ran", encoding="utf-8")
sys.argv = ["khorasan-map", *sys.argv[2:]]
cli.run()
"""


@pytest.mark.parametrize(("arguments", "code"), [
    (["validate", "{good}"], 0),
    (["validate", "{bad}"], 1),
    (["validate", "{missing}"], 2),
])
def test_the_console_command_keeps_its_exit_code_output_and_exit_handlers(tmp_path, arguments,
                                                                          code):
    script = tmp_path / "command.py"
    script.write_text(_RUN_WITH_AN_EXIT_HANDLER, encoding="utf-8")
    files = {"good": write(tmp_path, GOOD), "bad": tmp_path / "bad.csv",
             "missing": tmp_path / "missing.csv"}
    files["bad"].write_text(BAD, encoding="utf-8")
    handler_ran = tmp_path / "handler_ran.txt"
    done = subprocess.run(
        [sys.executable, str(script), str(handler_ran),
         *(argument.format(**files) for argument in arguments)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    expected = CliRunner().invoke(main, [argument.format(**files) for argument in arguments])
    assert done.returncode == code == expected.exit_code, done.stderr
    assert done.stdout == expected.stdout
    assert done.stderr == expected.stderr
    assert handler_ran.read_text(encoding="utf-8") == "ran"
