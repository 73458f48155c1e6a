"""The README's quick start runs as written, and its commands match the project's files."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_quick_start_runs_as_written(tmp_path, monkeypatch):
    (code,) = _blocks("python")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md quick start", "exec"), {})
    assert (tmp_path / "map.html").stat().st_size > 0
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_two_setup_commands_and_the_test_script():
    commands = [block.strip() for block in _blocks("bash")][:2]
    assert commands[0].endswith("khorasan-map build")
    assert commands[1].endswith("./scripts/test")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci
