import re

import pytest
from click.testing import CliRunner

from khorasan_map.cli import main


@pytest.mark.parametrize("kind", ["choropleth", "points", "combined", "timeline"])
def test_map_command_writes_each_type(tmp_path, kind):
    out = tmp_path / f"{kind}.html"
    result = CliRunner().invoke(main, ["map", "--type", kind, "-o", str(out), "--title", "<T>"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"Wrote {kind} map to .*{kind}\.html \(\d+ KB\)", result.output)
    html = out.read_text(encoding="utf-8")
    assert 'class="km-data"' in html
    assert "<T>" not in html


def test_map_command_offline_and_deterministic(tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    for path in (a, b):
        result = CliRunner().invoke(main, ["map", "-o", str(path), "--offline", "--k", "4"])
        assert result.exit_code == 0, result.output
        assert "offline" in result.output
    assert a.read_bytes() == b.read_bytes()
    assert "https://cdn" not in a.read_text(encoding="utf-8")
    assert a.stat().st_size <= 700_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scheme", "rainbow"], "scheme must be one of"),
        (["--metric", "nope"], "is not in the summary"),
        (["--bins", "1,x"], "comma-separated"),
        (["--kind", "picnic"], "--kind"),
        (["--k", "0"], "--k"),
    ],
)
def test_map_command_bad_options(tmp_path, args, message):
    result = CliRunner().invoke(main, ["map", "-o", str(tmp_path / "m.html"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "m.html").exists()
