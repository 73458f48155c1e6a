"""Tests for khorasan_map.scale: the Dask engine gives the in-memory engine's answers.

The data: synthetic events over all of Afghanistan, a layer of four square "provinces" covering
only part of it (so many events fall outside every polygon), and hand-made rows on the shared
edges and corner of the squares, just outside them, far outside them with no stated province,
and invalid rows. Written to tmp_path as four Parquet files and as four CSV files.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

pytest.importorskip(
    "dask_geopandas",
    reason="dask-geopandas is not installed (the 'scale' or "
    "'test' extra); the Dask engine cannot be tested",
)

from khorasan_map import aggregate, scale  # noqa: E402
from khorasan_map.errors import EventValidationError, InputFileError  # noqa: E402
from khorasan_map.events import read_events  # noqa: E402
from khorasan_map.join import assign_provinces  # noqa: E402
from khorasan_map.synthetic import synthetic_events  # noqa: E402

TODAY = "2026-06-01"
CODES = ["AF-BAM", "AF-DAY", "AF-GHA", "AF-WAR"]
NAMES = ["Bamyan", "Daykundi", "Ghazni", "Wardak"]
N_FILES = 4


@pytest.fixture(scope="module")
def layer():
    return gpd.GeoDataFrame(
        {"province_code": CODES, "province": NAMES, "province_dari": ["ب", "د", "غ", "و"]},
        geometry=[
            box(67, 34, 68, 35),
            box(67, 33, 68, 34),
            box(68, 33, 69, 34),
            box(68, 34, 69, 35),
        ],
        crs="EPSG:4326",
    )


def _extra_rows():
    """Border, near-outside, far-outside and unlocatable rows, plus invalid ones."""
    base = synthetic_events(12, seed=99).iloc[:1]

    def row(event_id, lon, lat, code=None, precision="exact", kind="clash"):
        r = base.copy()
        r["event_id"] = event_id
        r["longitude"], r["latitude"] = lon, lat
        r["province_code"] = code
        r["province"] = None
        r["location_precision"] = precision
        r["kind"] = kind
        if precision == "province":
            r["longitude"] = r["latitude"] = np.nan
        return r

    rows = [
        row("B-edge-1", 68.0, 33.5),  # shared edge AF-DAY | AF-GHA: border rule
        row("B-edge-2", 67.5, 34.0, "AF-DAY"),  # edge AF-BAM | AF-DAY, stated breaks the tie
        row("B-corner", 68.0, 34.0),  # corner of all four
        row("N-near", 69.02, 33.5),  # ~1.9 km east of AF-GHA: nearest within 5 km
        row("F-far", 65.0, 32.0),  # inside Afghanistan, far from the layer, no stated: unassigned
        row("F-far-stated", 65.0, 32.0, "AF-HEL"),  # stated province not in the layer
        row("U-province", np.nan, np.nan, "AF-KAB", "province"),  # not in the layer
        row("X-badkind", 67.5, 34.5, kind="battle"),  # rejected: unknown kind
        row("X-badlat", 67.5, 95.0),  # rejected: latitude out of range
    ]
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def events_frame():
    frame = pd.concat([synthetic_events(1200, seed=7), _extra_rows()], ignore_index=True)
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory, events_frame):
    root = tmp_path_factory.mktemp("scale")
    (root / "pq").mkdir()
    (root / "csv").mkdir()
    parquet, csv = [], []
    bounds = np.linspace(0, len(events_frame), N_FILES + 1).astype(int)
    for i in range(N_FILES):
        part = events_frame.iloc[bounds[i] : bounds[i + 1]]
        p = root / "pq" / f"part-{i}.parquet"
        part.to_parquet(p, index=False, row_group_size=120)  # several row groups per file
        parquet.append(p)
        c = root / "csv" / f"part-{i}.csv"
        part.to_csv(c, index=False)
        csv.append(c)
    return {"root": root, "parquet": parquet, "csv": csv}


@pytest.fixture(scope="module")
def in_memory(files):
    result = read_events([str(p) for p in files["parquet"]], on_invalid="report", today=TODAY)
    return result


def _texts(series):
    return [None if pd.isna(v) else str(v) for v in series]


def _plain(table):
    return pd.DataFrame(table.drop(columns="geometry"))


def _attrs(table):
    return {k: v for k, v in table.attrs.items() if k not in ("scale", "engine")}


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_summary_coverage_and_join_counts_agree(files, in_memory, layer, kind):
    glob = str(files["root"] / ("pq/*.parquet" if kind == "parquet" else "csv/*.csv"))
    events = in_memory.events
    want = aggregate.summarize(events, layer)
    got = scale.summarize_dask(
        glob, layer, on_invalid="report", today=TODAY, rows_per_partition=300
    )
    pd.testing.assert_frame_equal(_plain(got), _plain(want))
    assert got.geometry.equals(want.geometry)
    assert _attrs(got) == _attrs(want)

    info = got.attrs["scale"]
    assert info["n_rejected"] == len(in_memory.rejected) == 2
    assert info["n_input"] == in_memory.n_input == len(events) + 2
    if kind == "parquet":
        assert info["n_partitions"] > N_FILES  # row groups gathered into several partitions

    joined = assign_provinces(events, layer)
    join = info["join"]
    assert join["n_input"] == joined.n_input == len(events)
    assert join["n_assigned"] == joined.n_assigned
    assert join["n_unassigned"] == joined.n_unassigned > 0
    assert join["n_assigned"] + join["n_unassigned"] == join["n_input"]
    assert join["cases"] == scale._counts_dict(joined.report["case"].value_counts())
    assert {"border", "outside", "unlocatable"} <= set(join["cases"])
    assert join["by"] == scale._counts_dict(joined.events["assigned_by"].value_counts())

    cov_want = aggregate.coverage(events, layer)
    cov_got = scale.coverage_dask(
        glob, layer, on_invalid="report", today=TODAY, rows_per_partition=300
    )
    assert cov_got.to_dict() == cov_want.to_dict()
    assert cov_got.sentence == cov_want.sentence


def test_filters_and_years_agree(files, in_memory, layer):
    events = in_memory.events
    filters = {
        "since": "2018-03",
        "until": "2023",
        "kinds": "clash,defection",
        "min_confidence": "medium",
    }
    for by in ("province", ("province", "year")):
        want = aggregate.summarize(events, layer, by=by, **filters)
        got = scale.summarize_dask(
            files["parquet"], layer, by=by, on_invalid="report", today=TODAY, **filters
        )
        pd.testing.assert_frame_equal(_plain(got), _plain(want))
        assert _attrs(got) == _attrs(want)
    want = aggregate.coverage(events, layer, kinds="all", split_date="2021-08-15", since="2016")
    got = scale.coverage_dask(
        files["parquet"],
        layer,
        kinds="all",
        split_date="2021-08-15",
        since="2016",
        on_invalid="report",
        today=TODAY,
    )
    assert got.to_dict() == want.to_dict()


def test_dask_and_pandas_frames_as_input(in_memory, layer):
    import dask.dataframe as dd

    events = in_memory.events
    ddf = dd.from_pandas(events, npartitions=3)
    want = aggregate.summarize(events, layer, kinds="clash")
    for source in (ddf, events):
        got = scale.summarize_dask(source, layer, kinds="clash", rows_per_partition=1000)
        pd.testing.assert_frame_equal(_plain(got), _plain(want))
    # The dispatcher picks the engine; both give the same table.
    assert scale.summarize(ddf, layer, kinds="clash").attrs["engine"] == "dask"
    table = scale.summarize(events, layer, kinds="clash")
    assert table.attrs["engine"] == "memory"
    pd.testing.assert_frame_equal(_plain(table), _plain(want))


def test_assign_provinces_dask_is_a_left_join(in_memory, layer):
    import dask.dataframe as dd

    events = in_memory.events
    joined, report = scale.assign_provinces_dask(dd.from_pandas(events, npartitions=4), layer)
    want = assign_provinces(events, layer)
    got = joined.compute()
    assert len(got) == len(events)
    merged = got.set_index("event_id").loc[want.events["event_id"]]
    for col in ("assigned_code", "assigned_province", "assigned_by"):
        assert _texts(merged[col]) == _texts(want.events[col])
    counts = scale.join_counts(joined, report)
    assert counts["n_assigned"] == want.n_assigned
    assert counts["n_unassigned"] == want.n_unassigned
    assert counts["n_assigned"] + counts["n_unassigned"] == len(events)
    assert len(report.compute()) == len(want.report)


def test_read_events_dask_reports_rejected_rows_with_file_rows(files, in_memory):
    import dask

    res = scale.read_events_dask(
        str(files["root"] / "pq" / "*.parquet"),
        on_invalid="report",
        today=TODAY,
        rows_per_partition=400,
    )
    valid, rejected = dask.compute(res.events, res.rejected)
    assert len(valid) + len(rejected) == in_memory.n_input == res.n_rows
    assert sorted(valid["event_id"]) == sorted(in_memory.events["event_id"])
    key = ["file", "row", "event_id", "column"]
    want = in_memory.rejected[key].sort_values(key).reset_index(drop=True)
    got = rejected[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.astype(str), want.astype(str))
    assert res.counts()["n_rejected"] == 2

    strict = scale.read_events_dask(files["csv"], today=TODAY)
    with pytest.raises(EventValidationError, match="failed validation"):
        strict.compute()
    with pytest.raises(EventValidationError, match="2 of"):
        scale.summarize_dask(files["csv"], today=TODAY)


def test_auto_engine_threshold(files, events_frame):
    import dask.dataframe as dd

    small = files["parquet"]
    assert scale.choose_engine(small) == "memory"
    assert scale.choose_engine(small, max_bytes=1) == "dask"
    assert scale.choose_engine(small, max_rows=100) == "dask"
    assert scale.choose_engine(files["csv"], max_rows=100) == "memory"  # CSV: bytes only
    assert scale.choose_engine(events_frame) == "memory"
    assert scale.choose_engine(dd.from_pandas(events_frame, npartitions=2)) == "dask"
    assert scale.choose_engine(small, "dask") == "dask"
    assert scale.choose_engine(small, "pandas") == "memory"
    with pytest.raises(ValueError, match="engine must be one of"):
        scale.choose_engine(small, "spark")


def test_empty_glob_and_missing_inputs(tmp_path):
    with pytest.raises(InputFileError, match="no files match"):
        scale.summarize_dask(str(tmp_path / "nothing" / "*.parquet"))
    with pytest.raises(InputFileError, match="no files match"):
        scale.read_events_dask(str(tmp_path / "*.csv"))
    with pytest.raises(InputFileError, match="does not exist"):
        scale.expand_paths(tmp_path / "missing.parquet")
    with pytest.raises(InputFileError, match="no .parquet or .csv files"):
        scale.expand_paths(tmp_path)


def test_write_synthetic_parquet_streams_files(tmp_path):
    files = scale.write_synthetic_parquet(tmp_path / "syn", 2500, seed=5, rows_per_file=1000)
    assert [f.name for f in files] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert len(frame) == 2500 and frame["event_id"].is_unique
    assert (frame["dataset"] == "synthetic").all()
    assert (tmp_path / "syn" / "_SUCCESS").exists()
    assert scale.expand_paths(tmp_path / "syn") == files


def test_dispatchers_on_files_count_rejected_rows(files, in_memory, layer):
    glob = str(files["root"] / "pq" / "*.parquet")
    tables = {
        engine: scale.summarize(
            glob, layer, engine=engine, on_invalid="report", today=TODAY, kinds="clash"
        )
        for engine in ("pandas", "dask")
    }
    pd.testing.assert_frame_equal(_plain(tables["pandas"]), _plain(tables["dask"]))
    for engine, table in tables.items():
        assert table.attrs["engine"] == {"pandas": "memory"}.get(engine, engine)
        assert table.attrs["scale"]["n_input"] == in_memory.n_input
        assert table.attrs["scale"]["n_rejected"] == 2
    cov = scale.coverage(
        glob, layer, engine="dask", on_invalid="report", today=TODAY, scheduler="synchronous"
    )
    assert cov.engine == "dask" and cov.scale["n_rejected"] == 2
    assert cov.to_dict() == aggregate.coverage(in_memory.events, layer).to_dict()
    with pytest.raises(ValueError, match="scheduler 'gpu' is not one of"):
        scale.coverage(glob, layer, engine="dask", scheduler="gpu", today=TODAY)


def test_problems_name_file_and_row(files, layer):
    table = scale.summarize_dask(files["csv"], layer, on_invalid="report", today=TODAY)
    problems = table.attrs["scale"]["problems"]
    assert len(problems) == 2
    assert all(p.startswith("part-") and " row " in p for p in problems)
    assert any("column kind" in p for p in problems)


def test_geoparquet_points_fill_coordinates(tmp_path, layer):
    frame = synthetic_events(300, seed=11)
    frame = frame[frame["latitude"].notna()].reset_index(drop=True)
    geo = gpd.GeoDataFrame(
        frame.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
        crs="EPSG:4326",
    )
    path = tmp_path / "points.parquet"
    geo.to_parquet(path)
    want = aggregate.summarize(read_events(path, today=TODAY), layer)
    got = scale.summarize_dask(path, layer, today=TODAY)
    pd.testing.assert_frame_equal(_plain(got), _plain(want))
    assert got.attrs["n_events"] + got.attrs["n_left_out"] == len(frame)
    assert got.attrs["scale"]["join"]["by"]["point"] > 0  # located from the point geometries


def test_cluster_address_runs_on_a_dask_cluster(files, in_memory, layer):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        got = scale.coverage_dask(
            files["parquet"],
            layer,
            on_invalid="report",
            today=TODAY,
            scheduler=cluster.scheduler_address,
        )
    assert got.to_dict() == aggregate.coverage(in_memory.events, layer).to_dict()


def test_ids_repeated_across_files_are_rejected_like_in_memory(files, layer, tmp_path):
    first = pd.read_parquet(files["parquet"][0])
    repeat = tmp_path / "zz-repeat.parquet"
    first.iloc[:40].to_parquet(repeat, index=False)  # ids already used in part-0
    paths = [*files["parquet"], repeat]
    mem = read_events([str(p) for p in paths], on_invalid="report", today=TODAY)
    want = aggregate.summarize(mem.events, layer)
    got = scale.summarize_dask(paths, layer, on_invalid="report", today=TODAY)
    pd.testing.assert_frame_equal(_plain(got), _plain(want))
    assert got.attrs["scale"]["n_rejected"] == len(mem.rejected) == 2 + 40
    assert got.attrs["scale"]["n_input"] == mem.n_input
    assert any("repeat event ids" in p for p in got.attrs["scale"]["problems"])


def test_dask_geopandas_points_as_input(in_memory, layer):
    import dask_geopandas

    events = in_memory.events
    with_xy = events[events["latitude"].notna()].reset_index(drop=True)
    geo = gpd.GeoDataFrame(
        with_xy.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(with_xy["longitude"], with_xy["latitude"]),
        crs="EPSG:4326",
    )
    want = aggregate.summarize(with_xy, layer)
    got = scale.summarize_dask(dask_geopandas.from_geopandas(geo, npartitions=3), layer)
    pd.testing.assert_frame_equal(_plain(got), _plain(want))


def test_cli_engine_and_globs(files, tmp_path):
    import json

    from click.testing import CliRunner

    from khorasan_map import cli

    runner = CliRunner()
    glob = str(files["root"] / "pq" / "*.parquet")
    out = {}
    for engine in ("pandas", "dask"):
        result = runner.invoke(cli.main, ["coverage", glob, "--engine", engine, "--json"])
        assert result.exit_code == 1, result.output  # 1: rows rejected, the rest counted
        out[engine] = json.loads(result.stdout)
        assert "2 of" in result.stderr and "rejected" in result.stderr
    assert out["pandas"] == out["dask"]
    result = runner.invoke(cli.main, ["coverage", str(tmp_path / "none" / "*.csv")])
    assert result.exit_code == 2 and "no files match" in result.output
    html = tmp_path / "map.html"
    result = runner.invoke(cli.main, ["map", glob, "--engine", "dask", "-o", str(html)])
    assert result.exit_code == 1, result.output
    assert html.stat().st_size > 0
    result = runner.invoke(
        cli.main, ["map", glob, "--engine", "dask", "--type", "points", "-o", str(html)]
    )
    assert result.exit_code == 2 and "needs them in memory" in result.output


def test_cli_build_with_the_dask_engine(files, tmp_path):
    """build --engine dask writes the summary products, equal to the in-memory build's."""
    from click.testing import CliRunner

    from khorasan_map import cli

    runner = CliRunner()
    folder = str(files["root"] / "pq")
    stopped = tmp_path / "stopped"
    result = runner.invoke(cli.main, ["build", folder, "--engine", "dask", "--out", str(stopped)])
    assert result.exit_code == 1 and "2 of" in result.output and "rejected" in result.output
    assert not stopped.exists() or not any(stopped.iterdir())

    out = {}
    for engine in ("pandas", "dask"):
        out[engine] = tmp_path / engine
        result = runner.invoke(
            cli.main,
            ["build", folder, "--engine", engine, "--keep-going", "--out", str(out[engine])],
        )
        assert result.exit_code == 1, result.output
        assert "2 rows rejected" in result.stderr
    dask_files = {p.name for p in out["dask"].iterdir()}
    pandas_files = {p.name for p in out["pandas"].iterdir()}
    assert pandas_files - dask_files == {"points.html", "join_report.csv", "events.csv",
                                         "events.geojson"}
    package = json.loads((out["dask"] / "datapackage.json").read_text("utf-8"))
    described = {r["path"] for r in package["resources"]}
    assert described == {"provinces.csv", "provinces.geojson", "coverage.json", "rejected.csv"}
    assert "Not written: points.html" in result.stdout
    for name in ("coverage.json", "provinces.csv"):
        assert (out["dask"] / name).read_bytes() == (out["pandas"] / name).read_bytes(), name
    rejected = {e: pd.read_csv(out[e] / "rejected.csv") for e in out}
    assert len(rejected["dask"]) == len(rejected["pandas"]) == 2
    for engine in out:
        assert "2 rejected as invalid" in (out[engine] / "index.html").read_text("utf-8")
    assert set(rejected["dask"]["event_id"]) == set(rejected["pandas"]["event_id"])


def test_auto_engine_weighs_estimated_peak_memory_against_available(files, monkeypatch):
    parquet, csv = files["parquet"], files["csv"]
    need = scale.estimate_peak_memory(scale.expand_paths(parquet))
    rows = sum(scale._parquet_rows(p) for p in scale.expand_paths(parquet))
    assert need == rows * scale.PEAK_BYTES_PER_ROW["parquet"]
    csv_need = scale.estimate_peak_memory(scale.expand_paths(csv))
    assert csv_need > 0 and csv_need % scale.PEAK_BYTES_PER_ROW["csv"] == 0

    monkeypatch.setattr(scale, "available_memory", lambda: 2 * need + 1)
    assert scale.choose_engine(parquet) == "memory"
    monkeypatch.setattr(scale, "available_memory", lambda: 2 * need - 1)
    assert scale.choose_engine(parquet) == "dask"
    monkeypatch.setattr(scale, "available_memory", lambda: csv_need)  # needs more than half
    assert scale.choose_engine(csv) == "dask"
    monkeypatch.setattr(scale, "available_memory", lambda: 1 << 50)
    assert scale.choose_engine(csv) == "memory"
    assert scale.choose_engine(parquet, max_rows=1) == "dask"  # explicit limits still count
    monkeypatch.setattr(scale, "available_memory", lambda: None)  # unknown: the size rule
    assert scale.choose_engine(csv) == "memory"
    monkeypatch.setattr(scale, "AUTO_DASK_BYTES", 1)
    assert scale.choose_engine(csv) == "dask"


def test_csv_row_estimate_from_a_sample(tmp_path, monkeypatch):
    path = tmp_path / "synthetic.csv"
    path.write_text("event_id,x\n" + "".join(f"e{i:05d},1\n" for i in range(1000)))
    assert scale._csv_rows(path) == 1000  # read whole
    monkeypatch.setattr(scale, "CSV_SAMPLE_BYTES", 900)
    assert abs(scale._csv_rows(path) - 1000) < 20  # estimated from the first 900 bytes


def test_available_memory_is_a_positive_figure():
    available = scale.available_memory()
    assert available is None or available > 0
