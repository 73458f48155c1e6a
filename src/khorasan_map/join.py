"""Place events in provinces: a fast point-in-polygon and the event join with its report.

Two public entry points:

- :func:`locate_points` answers "which polygon holds each of these points?" for millions of
  points. It is exact, and over ten times faster than ``geopandas.sjoin(..., predicate="within")``
  because most points never meet a polygon: a precomputed grid (see :class:`PointLocator`) knows
  which cells lie wholly inside one polygon or wholly outside all, so only the few points in cells
  crossed by a boundary get an exact test.
- :func:`assign_provinces` gives every event a province from its coordinates or its stated
  province, and returns a :class:`JoinResult` whose ``report`` lists every event that needs a human
  eye (disagreement, outside every polygon, on a shared border, unlocatable).

The border rule
---------------
A point exactly on the edge shared by two polygons is covered by both and lies within neither
(``sjoin(predicate="within")`` drops it). Here it goes, deterministically, to the polygon whose code
comes first in sort order among the polygons that cover it (``"AF-KAB"`` before ``"AF-LOG"``). The
same rule settles points inside overlapping polygons of a user's layer, and points on the outer
edge of the layer (covered by one polygon) belong to that polygon. :func:`assign_provinces` refines
it once: when the stated province is one of the covering polygons, the stated province wins the tie.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from khorasan_map import settings
from khorasan_map.errors import BoundaryError

__all__ = ["JoinResult", "PointLocator", "assign_provinces", "get_locator", "locate_points"]

#: Cells along the longer side of the grid, by polygon count (upper bounds, ascending).
_GRID_SIZES: tuple[tuple[int, int], ...] = ((512, 1024), (10**9, 2048))

#: Padding, in cell widths, added around every boundary segment when marking crossed cells, so a
#: rounding error in a point's cell index can never put it in a cell its boundary does not reach.
_EPS_CELLS: float = 1e-6

#: Points handled per block in the exact test (bounds memory on tens of millions of points).
_CHUNK: int = 2_000_000

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE: int = 8


def _grid_size(n_polygons: int) -> int:
    """Return the number of cells along the grid's longer side for a layer of this many polygons."""
    for upper, size in _GRID_SIZES:
        if n_polygons <= upper:
            return size
    return _GRID_SIZES[-1][1]


def _sort_key(code) -> tuple[int, str]:
    """Order codes as text, missing codes last."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return (1, "")
    return (0, str(code))


def _segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return every ring segment of ``geoms`` as an (n, 4) array and the index of its geometry."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    seg = np.column_stack([coords[:-1][same], coords[1:][same]])
    owner = part_owner[ring_part[coord_ring[:-1][same]]]
    return seg, owner


@dataclass(frozen=True)
class _Cover:
    """First covering polygon (by rank, -1 for none) and number of covering polygons per point."""

    rank: np.ndarray
    count: np.ndarray


class PointLocator:
    """A precomputed grid that finds the polygon holding each point, exactly and fast.

    The grid spans the layer's bounds (plus one cell of margin) with square cells: 1024 cells along
    the longer side for up to 512 polygons, 2048 beyond (measured on the 34-province and the
    398-district layers: finer grids cost more to build than they save). Every cell is
    either wholly inside one polygon (its code is stored), wholly outside every polygon, or crossed
    by a boundary ("mixed", with the list of polygons whose boundary crosses it or which cover
    it). Cells are marked mixed conservatively: a segment marks every cell its slightly padded
    bounding box touches, after long segments are split into pieces no longer than a cell. A point
    then finds its cell with integer arithmetic; only points in mixed cells get an exact
    ``shapely.intersects_xy`` test against the cell's candidates.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        Polygons in EPSG:4326 (other CRSs are reprojected; a layer without a CRS is taken as
        EPSG:4326).
    code_field : str, default "province_code"
        Column holding each polygon's code, the value returned for points inside it.
    grid_size : int, optional
        Cells along the grid's longer side; by default chosen from the number of polygons.

    Attributes
    ----------
    codes : numpy.ndarray
        Polygon codes in sort order (the border rule's order).
    shape : tuple of int
        Grid rows and columns.
    n_mixed : int
        Number of cells crossed by a boundary.
    build_seconds : float
        Time taken to build the grid.
    has_overlaps : bool
        Whether some grid cell lies inside more than one polygon (overlapping polygons).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> layer = gpd.GeoDataFrame({"province_code": ["A", "B"]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
    >>> PointLocator(layer).locate([0.5, 1.5, 3.0], [0.5, 0.5, 0.5]).tolist()
    ['A', 'B', None]
    """

    def __init__(self, boundaries, code_field: str = "province_code", grid_size: int | None = None):
        start = time.perf_counter()
        if code_field not in boundaries.columns:
            raise BoundaryError(
                f"the boundary layer has no column {code_field!r} (columns: "
                f"{', '.join(map(str, boundaries.columns))}); name the code column with code_field="
            )
        if boundaries.crs is not None and not boundaries.crs.equals(settings.CRS):
            boundaries = boundaries.to_crs(settings.CRS)
        geoms = np.asarray(boundaries.geometry.values, dtype=object)
        bad = [i for i, g in enumerate(geoms) if g is None or g.is_empty]
        kinds = shapely.get_type_id(geoms[[i for i in range(len(geoms)) if i not in set(bad)]])
        if bad or not np.isin(kinds, (3, 6)).all():
            raise BoundaryError(
                "the boundary layer must hold non-empty Polygon or MultiPolygon geometries only"
                + (f" (row {bad[0] + 1} is empty)" if bad else "")
            )
        raw_codes = boundaries[code_field].to_numpy(dtype=object)
        order = np.array(sorted(range(len(geoms)), key=lambda i: (_sort_key(raw_codes[i]), i)))
        self.code_field = code_field
        self.positions = order  # rank -> row position in the layer
        self.codes = raw_codes[order]
        self.polygons = geoms[order]
        shapely.prepare(self.polygons)
        # GEOS builds a prepared polygon's index on first use: do it now, not in the first query.
        first = shapely.get_coordinates(shapely.get_exterior_ring(
            shapely.get_geometry(self.polygons, 0)))
        if len(first) == len(self.polygons):
            shapely.intersects_xy(self.polygons, first[:, 0], first[:, 1])
        self._codes_or_none = np.empty(len(order) + 1, dtype=object)
        self._codes_or_none[1:] = self.codes
        self._codes_or_none[0] = None
        self.bounds = shapely.bounds(self.polygons)
        self._build(grid_size or _grid_size(len(order)))
        self.build_seconds = time.perf_counter() - start

    # -- building ------------------------------------------------------------------------------

    def _build(self, size: int) -> None:
        minx, miny = self.bounds[:, 0].min(), self.bounds[:, 1].min()
        maxx, maxy = self.bounds[:, 2].max(), self.bounds[:, 3].max()
        cell = max(maxx - minx, maxy - miny, 1e-9) / size
        self.cell = cell
        self.x0, self.y0 = minx - cell, miny - cell
        self.nx = int(math.ceil((maxx - minx) / cell)) + 2
        self.ny = int(math.ceil((maxy - miny) / cell)) + 2
        self.shape = (self.ny, self.nx)
        n_cells = self.nx * self.ny
        n_poly = len(self.polygons)

        # Mixed cells: every cell a (split, padded) boundary segment may touch.
        seg, owner = _segments(self.polygons)
        cell_id, seg_of = _cells_near_pieces(seg, self.x0, self.y0, cell, _EPS_CELLS, self.nx,
                                             self.ny)
        pairs = np.unique(cell_id * n_poly + owner[seg_of])
        mixed_cells = np.unique(pairs // n_poly)

        # Overlapping layers: a polygon that covers a mixed cell's centre without crossing it.
        mxc, myc = self._centres(mixed_cells)
        cover = self._cover_by_bounds(mxc, myc, all_pairs=True)
        extra = mixed_cells[cover[0]] * n_poly + cover[1]
        pairs = np.unique(np.concatenate([pairs, extra]))
        pair_cell = pairs // n_poly
        self.n_mixed = len(mixed_cells)
        counts = np.bincount(np.searchsorted(mixed_cells, pair_cell), minlength=len(mixed_cells))
        self._ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._cand = (pairs % n_poly).astype(np.int32)

        # Cells without a boundary: label each row-run of them by an exact test of its first cell.
        is_mixed = np.zeros(n_cells, dtype=bool)
        is_mixed[mixed_cells] = True
        flat = np.arange(n_cells)
        starts = ~is_mixed & ((flat % self.nx == 0) | np.concatenate([[True], is_mixed[:-1]]))
        run_id = np.cumsum(starts) - 1
        first = flat[starts]
        rx, ry = self._centres(first)
        run = self._cover_by_bounds(rx, ry)
        label = np.empty(n_cells, dtype=np.int32)
        clear = ~is_mixed
        label[clear] = run.rank[run_id[clear]]
        # Mixed cells hold -2 - (their position among mixed cells).
        label[mixed_cells] = -2 - np.arange(len(mixed_cells), dtype=np.int32)
        self._label = label
        self.has_overlaps = bool((run.count > 1).any())
        self._clear_count = None
        if self.has_overlaps:
            count = np.zeros(n_cells, dtype=np.int8)
            count[clear] = np.minimum(run.count[run_id[clear]], 127)
            self._clear_count = count

    def _centres(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the centre coordinates of flat cell indices."""
        return (
            self.x0 + (cells % self.nx + 0.5) * self.cell,
            self.y0 + (cells // self.nx + 0.5) * self.cell,
        )

    def _cover_by_bounds(self, xs: np.ndarray, ys: np.ndarray, all_pairs: bool = False):
        """Exact cover test of a modest set of points against every polygon, by bounding box.

        Returns a :class:`_Cover` or, with ``all_pairs``, the (point, rank) index pairs.
        """
        order = np.argsort(xs, kind="stable")
        sx = xs[order]
        rank = np.full(len(xs), -1, dtype=np.int32)
        count = np.zeros(len(xs), dtype=np.int32)
        hits_p, hits_r = [], []
        for r in range(len(self.polygons) - 1, -1, -1):
            bx0, by0, bx1, by1 = self.bounds[r]
            lo = np.searchsorted(sx, bx0, side="left")
            hi = np.searchsorted(sx, bx1, side="right")
            idx = order[lo:hi]
            idx = idx[(ys[idx] >= by0) & (ys[idx] <= by1)]
            if len(idx) == 0:
                continue
            hit = idx[shapely.intersects_xy(self.polygons[r], xs[idx], ys[idx])]
            rank[hit] = r
            count[hit] += 1
            if all_pairs:
                hits_p.append(hit)
                hits_r.append(np.full(len(hit), r, dtype=np.int64))
        if all_pairs:
            if not hits_p:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
            return np.concatenate(hits_p), np.concatenate(hits_r)
        return _Cover(rank, count)

    # -- querying ------------------------------------------------------------------------------

    def locate_ranks(self, lon, lat, with_count: bool = False):
        """Return the rank of the polygon holding each point (-1 for none), and optionally counts.

        Parameters
        ----------
        lon, lat : array_like
            Point coordinates in degrees; NaN gives -1.
        with_count : bool, default False
            Also return how many polygons cover each point (2 or more: a shared border or an
            overlap).

        Returns
        -------
        numpy.ndarray or tuple of numpy.ndarray
            Ranks into :attr:`codes` (int32), and the counts (int32) when asked.
        """
        x, y = self._coordinates(lon, lat)
        rank, cell, where = self._grid_ranks(x, y)
        mixed, hits = self._settle_mixed(rank, x, y)
        if not with_count:
            return rank
        if self._clear_count is not None:
            count = np.zeros(len(x), dtype=np.int32)
            count[slice(None) if where is None else where] = self._clear_count[cell]
        else:
            count = (rank >= 0).astype(np.int32)
        count[mixed] = hits
        return rank, count

    def locate_covered(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Return the rank of the polygon holding each point, and the points covered twice.

        As :meth:`locate_ranks`, but instead of a count per point, the positions of the few
        points covered by two or more polygons (on a shared border, or in an overlap).

        Parameters
        ----------
        lon, lat : array_like
            Point coordinates in degrees; NaN gives -1.

        Returns
        -------
        rank : numpy.ndarray
            Ranks into :attr:`codes` (int32), -1 for none.
        covered_twice : numpy.ndarray
            Sorted positions of the points covered by two or more polygons.
        """
        x, y = self._coordinates(lon, lat)
        rank, cell, where = self._grid_ranks(x, y)
        mixed, hits = self._settle_mixed(rank, x, y)
        twice = mixed[hits >= 2]
        if self._clear_count is not None:
            clear = np.flatnonzero(self._clear_count[cell] >= 2)
            twice = np.union1d(twice, clear if where is None else where[clear])
        return rank, twice

    @staticmethod
    def _coordinates(lon, lat) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError(f"lon and lat differ in length ({len(x)} and {len(y)})")
        return x, y

    def _grid_ranks(self, x, y):
        """Return each point's cell label (mixed cells: -2 - their position), and where it is.

        Also returns the cells of the points on the grid, and those points' positions (None
        when every point is on it).
        """
        fx = (x - self.x0) * (1.0 / self.cell)
        fy = (y - self.y0) * (1.0 / self.cell)
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        rank = np.full(len(x), -1, dtype=np.int32)
        if inside.all():
            cell = fy.astype(np.int64) * self.nx + fx.astype(np.int64)
            rank[:] = self._label[cell]
            return rank, cell, None
        where = np.flatnonzero(inside)
        cell = fy[where].astype(np.int64) * self.nx + fx[where].astype(np.int64)
        rank[where] = self._label[cell]
        return rank, cell, where

    def _settle_mixed(self, rank, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Settle the points in mixed cells exactly; return them and their covering counts."""
        mixed = np.flatnonzero(rank <= -2)
        hits = np.zeros(len(mixed), dtype=np.int32)
        for startpos in range(0, len(mixed), _CHUNK):
            block = slice(startpos, startpos + _CHUNK)
            pts = mixed[block]
            rank[pts], hits[block] = self._exact(pts, -2 - rank[pts], x, y)
        return mixed, hits

    def _exact(self, pts, mid, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Return the rank and covering count of points in mixed cells, by an exact test."""
        n_c = self._ptr[mid + 1] - self._ptr[mid]
        local = np.repeat(np.arange(len(pts)), n_c)
        offs = np.arange(len(local)) - np.repeat(np.cumsum(n_c) - n_c, n_c)
        cand = self._cand[np.repeat(self._ptr[mid], n_c) + offs]
        order = np.argsort(cand, kind="stable")
        cand, local = cand[order], local[order]
        cuts = np.flatnonzero(np.diff(cand)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(cand)]])
        result = np.full(len(pts), -1, dtype=np.int32)
        hits = np.zeros(len(pts), dtype=np.int32)
        px, py = x[pts], y[pts]
        # Highest rank first, so the lowest covering rank is written last (the border rule).
        for s, e in zip(starts[::-1], ends[::-1], strict=True):
            r = cand[s]
            sel = local[s:e]
            hit = sel[shapely.intersects_xy(self.polygons[r], px[sel], py[sel])]
            result[hit] = r
            hits[hit] += 1
        return result, hits

    def nearest(self, lon, lat, tolerance_m: float, *, measure_beyond: bool = True):
        """Return the nearest polygon to each point, and its distance in metres.

        Distances are measured in :data:`settings.EQUAL_AREA_CRS`; ties go to the lowest rank
        (the border rule). Use it for points outside every polygon: inside one, the distance is
        to its own boundary. Points within the tolerance are measured against the few edges a
        precomputed band grid lists for their cell; a point whose cell lists none is farther
        than the tolerance from every polygon without being measured.

        Parameters
        ----------
        lon, lat : array_like
            Point coordinates in degrees (EPSG:4326).
        tolerance_m : float
            Largest distance, in metres, at which the nearest polygon still counts as near.
        measure_beyond : bool, default True
            Also measure the distance and the nearest polygon of points beyond the tolerance
            (a tree query each, about 6 microseconds a point). With False they get NaN and -1.

        Returns
        -------
        near : numpy.ndarray
            Rank of the nearest polygon within ``tolerance_m`` (-1 beyond it).
        distance_m : numpy.ndarray
            Distance to the nearest polygon (NaN beyond the tolerance without
            ``measure_beyond``).
        nearest : numpy.ndarray
            Rank of the nearest polygon (-1 for an empty layer, or beyond the tolerance without
            ``measure_beyond``).

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> layer = gpd.GeoDataFrame({"province_code": ["A"]}, geometry=[box(60, 30, 61, 31)],
        ...                          crs=4326)
        >>> near, metres, _ = PointLocator(layer).nearest([61.01, 61.5], [30.5, 30.5], 5_000)
        >>> near.tolist(), bool(metres[0] < 1_000), bool(metres[1] > 40_000)
        ([0, -1], True, True)
        """
        return nearest_polygons(self, lon, lat, tolerance_m, measure_beyond)

    def covering(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Return every (point, polygon rank) pair where the polygon covers the point.

        Meant for a modest number of points (a bounding-box filter per polygon): the points on
        shared borders, for instance.

        Parameters
        ----------
        lon, lat : array_like
            Point coordinates in degrees.

        Returns
        -------
        tuple of numpy.ndarray
            Point positions and polygon ranks, one entry per covering pair.
        """
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        return self._cover_by_bounds(x, y, all_pairs=True)

    def locate(self, lon, lat) -> np.ndarray:
        """Return the code of the polygon holding each point, None outside every polygon.

        Parameters
        ----------
        lon, lat : array_like
            Point coordinates in degrees (EPSG:4326); NaN gives None.

        Returns
        -------
        numpy.ndarray
            Object array of codes, one per point.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> layer = gpd.GeoDataFrame({"province_code": ["A"]}, geometry=[box(0, 0, 1, 1)],
        ...                          crs=4326)
        >>> PointLocator(layer).locate([0.5, float("nan")], [0.5, 0.5]).tolist()
        ['A', None]
        """
        return self._codes_or_none[self.locate_ranks(lon, lat) + 1]


def _layer_key(boundaries, code_field: str) -> tuple:
    """Return a cache key: the layer's identity plus a hash of its geometry, codes and CRS."""
    digest = hashlib.blake2b(digest_size=16)
    for wkb in shapely.to_wkb(np.asarray(boundaries.geometry.values, dtype=object)):
        digest.update(wkb if wkb is not None else b"\0")
    if code_field in boundaries.columns:
        digest.update(repr(boundaries[code_field].tolist()).encode())
    digest.update(str(boundaries.crs).encode())
    return (id(boundaries), code_field, digest.hexdigest())


def get_locator(boundaries=None, code_field: str = "province_code") -> PointLocator:
    """Return a :class:`PointLocator` for ``boundaries``, built once and cached.

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame, optional
        Polygons; the shipped province layer when omitted.
    code_field : str, default "province_code"
        Column holding each polygon's code.

    Returns
    -------
    PointLocator
        The cached locator (the cache keeps the eight most recent layers, keyed on the layer
        object and a hash of its geometry and codes, so an edited layer gets a new grid).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> layer = gpd.GeoDataFrame({"province_code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    >>> get_locator(layer) is get_locator(layer)
    True
    """
    if boundaries is None:
        boundaries = _default_boundaries()
    key = _layer_key(boundaries, code_field)
    locator = _CACHE.get(key)
    if locator is None:
        locator = PointLocator(boundaries, code_field=code_field)
        _CACHE[key] = locator
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return locator


def _default_boundaries():
    """Return the shipped province layer."""
    from khorasan_map.boundaries import load_provinces

    return load_provinces()


def locate_points(lon, lat, boundaries=None, *, code_field: str = "province_code") -> np.ndarray:
    """Return the code of the polygon holding each point, None outside every polygon.

    Exact, and much faster than ``geopandas.sjoin(points, boundaries, predicate="within")`` on
    large inputs: see :class:`PointLocator`. Every point strictly inside a polygon gets the same
    polygon as ``sjoin``; a point on a boundary (which ``within`` drops) goes to the polygon whose
    code sorts first among those that cover it (the module's border rule).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (EPSG:4326), equal lengths. NaN gives None.
    boundaries : geopandas.GeoDataFrame, optional
        Polygon layer; the shipped 34-province layer when omitted.
    code_field : str, default "province_code"
        Column of ``boundaries`` holding the code to return.

    Returns
    -------
    numpy.ndarray
        Object array of codes, one per point, None where no polygon covers the point.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> kabul_logar = gpd.GeoDataFrame({"province_code": ["AF-KAB", "AF-LOG"]},
    ...                                geometry=[box(69, 34, 70, 35), box(69, 33, 70, 34)],
    ...                                crs=4326)
    >>> locate_points([69.5, 69.5, 75.0], [34.5, 34.0, 30.0], kabul_logar).tolist()
    ['AF-KAB', 'AF-KAB', None]
    """
    return get_locator(boundaries, code_field).locate(lon, lat)


# ---------------------------------------------------------------------------------------------
# Distances to the nearest polygon (in metres, in the equal-area CRS)
# ---------------------------------------------------------------------------------------------

#: Padding of the tolerance band, as a share of the tolerance: covers the change of scale of the
#: equal-area projection between the points where it was sampled.
_BAND_SAFETY: float = 1.25

#: Band cells along the tolerance (a band cell is at least one locator cell wide).
_BAND_CELLS_PER_TOLERANCE: int = 4

#: Tolerance bands kept per locator.
_BANDS_KEPT: int = 4

#: Point-edge pairs measured at once by the band search: bounds its memory (some 100 bytes a
#: pair) when a large tolerance lists thousands of edges per cell.
_BAND_PAIRS_PER_BLOCK: int = 1_000_000


@dataclass(frozen=True)
class _Edges:
    """Every polygon edge, in degrees and in equal-area metres, with the rank owning it."""

    degrees: np.ndarray
    metres_by_column: np.ndarray  # (4, n): ax, ay, bx, by, each coordinate contiguous
    owner: np.ndarray
    transformer: object

    @property
    def metres(self) -> np.ndarray:
        """The segments in metres as an (n, 4) view, a row per edge."""
        return self.metres_by_column.T


@dataclass(frozen=True)
class _Band:
    """For each cell of a grid, the edges that may lie within the tolerance of a point in it.

    ``listed`` says whether a cell lists any edge, on the grid with a ring of unlisted cells
    around it (``(ny + 2) * (nx + 2)`` flags), so a point off the grid finds an unlisted cell.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    ptr: np.ndarray
    edge: np.ndarray
    listed: np.ndarray


def equal_area_edges(locator: PointLocator) -> _Edges:
    """Return the locator's polygon edges in degrees and in equal-area metres (cached).

    Parameters
    ----------
    locator : PointLocator
        The layer's locator.

    Returns
    -------
    _Edges
        ``degrees`` and ``metres`` (n, 4) arrays of segment end points (``metres_by_column``
        holds the same metres as four contiguous rows), ``owner`` (the rank of the polygon each
        edge belongs to) and the ``transformer`` from degrees to metres.
    """
    cached = locator.__dict__.get("_edges")
    if cached is None:
        from pyproj import Transformer

        to_m = Transformer.from_crs(settings.CRS, settings.EQUAL_AREA_CRS, always_xy=True)
        seg, owner = _segments(locator.polygons)
        ax, ay = to_m.transform(seg[:, 0], seg[:, 1])
        bx, by = to_m.transform(seg[:, 2], seg[:, 3])
        cached = _Edges(seg, np.array([ax, ay, bx, by], dtype=np.float64), owner, to_m)
        locator._edges = cached
    return cached


def _metres_per_degree(edges: _Edges, bounds: tuple[float, float, float, float]) -> float:
    """Return a lower bound of the projection's scale (metres per degree) over ``bounds``."""
    x0, y0, x1, y1 = bounds
    lon, lat = np.meshgrid(np.linspace(x0, x1, 25), np.linspace(max(y0, -89.0), min(y1, 89.0), 25))
    lon, lat, h = lon.ravel(), lat.ravel(), 1e-3
    px, py = edges.transformer.transform(lon, lat)
    ex, ey = edges.transformer.transform(lon + h, lat)
    nx_, ny_ = edges.transformer.transform(lon, lat + h)
    jac = np.stack([[ex - px, nx_ - px], [ey - py, ny_ - py]]).transpose(2, 0, 1) / h
    if not np.isfinite(jac).all():
        return float("nan")
    return float(np.linalg.svd(jac, compute_uv=False).min())


def _cells_near_pieces(seg, x0, y0, cell, pad_cells, nx, ny):
    """Return (cell, segment) pairs: every cell within ``pad_cells`` of a piece of a segment.

    Long segments are split into pieces no longer than a cell, so the padded bounding box of
    each piece stays small.
    """
    fx0, fy0 = (seg[:, 0] - x0) / cell, (seg[:, 1] - y0) / cell
    fx1, fy1 = (seg[:, 2] - x0) / cell, (seg[:, 3] - y0) / cell
    pieces = np.maximum(np.ceil(np.maximum(np.abs(fx1 - fx0), np.abs(fy1 - fy0))), 1)
    pieces = pieces.astype(np.int64)
    seg_of = np.repeat(np.arange(len(seg)), pieces)
    k = np.arange(len(seg_of)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    t0, t1 = k / pieces[seg_of], (k + 1) / pieces[seg_of]
    ax = fx0[seg_of] + (fx1 - fx0)[seg_of] * t0
    bx = fx0[seg_of] + (fx1 - fx0)[seg_of] * t1
    ay = fy0[seg_of] + (fy1 - fy0)[seg_of] * t0
    by = fy0[seg_of] + (fy1 - fy0)[seg_of] * t1
    i0 = np.clip(np.floor(np.minimum(ax, bx) - pad_cells), 0, nx - 1).astype(np.int64)
    i1 = np.clip(np.floor(np.maximum(ax, bx) + pad_cells), 0, nx - 1).astype(np.int64)
    j0 = np.clip(np.floor(np.minimum(ay, by) - pad_cells), 0, ny - 1).astype(np.int64)
    j1 = np.clip(np.floor(np.maximum(ay, by) + pad_cells), 0, ny - 1).astype(np.int64)
    wi, wj = i1 - i0 + 1, j1 - j0 + 1
    n_each = wi * wj
    piece = np.repeat(np.arange(len(i0)), n_each)
    local = np.arange(len(piece)) - np.repeat(np.cumsum(n_each) - n_each, n_each)
    cell_id = (j0[piece] + local // wi[piece]) * nx + i0[piece] + local % wi[piece]
    return cell_id, seg_of[piece]


def tolerance_band(locator: PointLocator, tolerance_m: float) -> _Band | None:
    """Return the grid of edges that may lie within ``tolerance_m`` of each cell (cached).

    A point whose cell lists no edge is farther than the tolerance from every polygon, so it
    needs no distance at all; a point whose cell lists edges gets its exact distance to those.
    Returns None where the projection's scale cannot be bounded (the tree answers instead).

    Parameters
    ----------
    locator : PointLocator
        The layer's locator.
    tolerance_m : float
        The tolerance, in metres.

    Returns
    -------
    _Band or None
        The band grid.
    """
    bands = locator.__dict__.setdefault("_bands", OrderedDict())
    key = float(tolerance_m)
    if key in bands:
        return bands[key]
    edges = equal_area_edges(locator)
    minx, miny = locator.bounds[:, 0].min(), locator.bounds[:, 1].min()
    maxx, maxy = locator.bounds[:, 2].max(), locator.bounds[:, 3].max()
    scale = _metres_per_degree(edges, (minx - 1, miny - 1, maxx + 1, maxy + 1))
    band = None
    if np.isfinite(scale) and scale > 0:
        reach = _BAND_SAFETY * key / scale + 1e-9  # degrees
        cell = max(locator.cell, reach / _BAND_CELLS_PER_TOLERANCE)
        x0, y0 = minx - reach - cell, miny - reach - cell
        nx = int(math.ceil((maxx - minx + 2 * reach) / cell)) + 3
        ny = int(math.ceil((maxy - miny + 2 * reach) / cell)) + 3
        cells, seg = _cells_near_pieces(edges.degrees, x0, y0, cell, reach / cell + 1e-6, nx, ny)
        pairs = np.unique(cells * len(edges.owner) + seg)
        counts = np.bincount(pairs // len(edges.owner), minlength=nx * ny)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        listed = np.zeros((ny + 2, nx + 2), dtype=bool)
        listed[1:-1, 1:-1] = (counts > 0).reshape(ny, nx)
        band = _Band(x0, y0, cell, nx, ny, ptr, (pairs % len(edges.owner)).astype(np.int32),
                     listed.ravel())
    bands[key] = band
    while len(bands) > _BANDS_KEPT:
        bands.popitem(last=False)
    return band


def segment_distance(px, py, seg):
    """Return the distance from each point to its segment, as GEOS measures it.

    Parameters
    ----------
    px, py : numpy.ndarray
        Point coordinates.
    seg : numpy.ndarray
        (n, 4) segment end points (ax, ay, bx, by), one per point.

    Returns
    -------
    numpy.ndarray
        Distances (GEOS' ``pointToSegment`` formula, so shared vertices tie exactly).
    """
    return _distance_to_segments(px, py, seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3])


def _distance_to_segments(px, py, ax, ay, bx, by):
    """:func:`segment_distance`, the segments given as four coordinate arrays.

    Only the end point nearer along the segment is measured. Every value is computed with the
    same operations as GEOS' formula, so the distances are the same to the last bit.
    """
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    qx, qy = px - ax, py - ay
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (qx * dx + qy * dy) / len2
        # GEOS' s is ((ay - py) * dx - (ax - px) * dy) / len2: the same value, sign aside.
        across = np.abs((qx * dy - qy * dx) / len2) * np.sqrt(len2)
    at_a = (len2 == 0) | (r <= 0)
    at_b = (r >= 1) & ~at_a
    ex = np.where(at_b, px - bx, qx)
    ey = np.where(at_b, py - by, qy)
    return np.where(at_a | at_b, np.sqrt(ex * ex + ey * ey), across)


def _ring_index(values, origin, cell, n):
    """Return the cell index of each value on a grid of ``n`` cells with a ring (0 .. n + 1)."""
    position = values - origin
    position *= 1.0 / cell
    np.fmax(position, 0.0, out=position)  # fmax: NaN gives 0
    np.fmin(position, n + 1.0, out=position)
    return position.astype(np.int32)


def _pair_blocks(n_pairs: np.ndarray, limit: int):
    """Yield slices of consecutive points with at most ``limit`` pairs (at least one point)."""
    ends = np.cumsum(n_pairs)
    start = 0
    while start < len(n_pairs):
        before = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, before + limit, side="right")), start + 1)
        yield slice(start, stop)
        start = stop


def _nearest_listed(edges: _Edges, band: _Band, first, n_c, px, py):
    """Return each point's distance to its nearest listed edge, and that edge's lowest owner.

    ``first`` and ``n_c`` say where each point's edges start in ``band.edge`` and how many
    there are (one at least); ``px``, ``py`` are the points in equal-area metres.
    """
    local = np.repeat(np.arange(len(n_c)), n_c)
    starts = np.cumsum(n_c) - n_c  # each point's first pair
    edge = band.edge[np.arange(len(local)) + np.repeat(first - starts, n_c)]
    d = _distance_to_segments(px[local], py[local], *(c[edge] for c in edges.metres_by_column))
    best = np.minimum.reduceat(d, starts)
    owner = np.where(d == best[local], edges.owner[edge], np.iinfo(np.int64).max)
    return best, np.minimum.reduceat(owner, starts)


def _nearest_in_band(locator, band, lon, lat, tolerance_m):
    """Nearest polygon within the tolerance by the band's candidate edges (-1 beyond it)."""
    n = len(lon)
    rank = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    # Column and row on the grid with its ring (0 and n + 1 are off the grid; NaN gives 0).
    ix = _ring_index(lon, band.x0 - band.cell, band.cell, band.nx)
    iy = _ring_index(lat, band.y0 - band.cell, band.cell, band.ny)
    pts = np.flatnonzero(band.listed[iy * (band.nx + 2) + ix])  # few: most points are far
    if not len(pts):
        return rank, dist
    cell = (iy[pts] - 1).astype(np.int64) * band.nx + (ix[pts] - 1)
    n_c = band.ptr[cell + 1] - band.ptr[cell]
    edges = equal_area_edges(locator)
    px, py = edges.transformer.transform(lon[pts], lat[pts])
    px, py = np.asarray(px), np.asarray(py)
    best = np.empty(len(pts))
    best_rank = np.empty(len(pts), dtype=np.int64)
    for block in _pair_blocks(n_c, _BAND_PAIRS_PER_BLOCK):
        best[block], best_rank[block] = _nearest_listed(
            edges, band, band.ptr[cell[block]], n_c[block], px[block], py[block])
    near = best <= tolerance_m
    rank[pts[near]] = best_rank[near]
    dist[pts[near]] = best[near]
    return rank, dist


def _edge_tree(locator: PointLocator):
    """Return an STRtree of every polygon edge in the equal-area CRS (cached on the locator)."""
    cached = locator.__dict__.get("_edge_tree")
    if cached is None:
        edges = equal_area_edges(locator)
        cached = shapely.STRtree(shapely.linestrings(edges.metres.reshape(-1, 2, 2)))
        locator._edge_tree = cached
    return cached


def _nearest_by_tree(locator: PointLocator, lon: np.ndarray, lat: np.ndarray):
    """Return the nearest polygon to each point, whatever the distance, and the distance."""
    n = len(lon)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    if n == 0:
        return best, dist
    edges = equal_area_edges(locator)
    px, py = edges.transformer.transform(lon, lat)
    (p_idx, e_idx), d = _edge_tree(locator).query_nearest(
        shapely.points(px, py), return_distance=True, all_matches=True
    )
    none = np.iinfo(np.int64).max
    lowest = np.full(n, none)
    np.minimum.at(lowest, p_idx, edges.owner[e_idx])
    dist[p_idx] = d
    found = lowest < none
    best[found] = lowest[found]
    return best, dist


def nearest_polygons(locator, lon, lat, tolerance_m, measure_beyond=True):
    """Return the nearest polygon within the tolerance, the distance, and the nearest polygon.

    See :meth:`PointLocator.nearest`.

    Parameters
    ----------
    locator : PointLocator
        The layer's locator.
    lon, lat : numpy.ndarray
        Point coordinates in degrees.
    tolerance_m : float
        Largest distance, in metres, at which the nearest polygon still counts as near.
    measure_beyond : bool, default True
        Also measure the points beyond the tolerance (slow: a tree query each).

    Returns
    -------
    tuple of numpy.ndarray
        ``near`` rank (-1 beyond), ``distance_m`` and ``nearest`` rank.
    """
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    band = tolerance_band(locator, tolerance_m) if len(lon) else None
    if band is None:
        near = np.full(len(lon), -1, dtype=np.int64)
        dist = np.full(len(lon), np.nan)
        beyond = np.arange(len(lon))
    else:
        near, dist = _nearest_in_band(locator, band, lon, lat, tolerance_m)
        beyond = np.flatnonzero(near < 0) if measure_beyond else None
    nearest = near.copy()
    if measure_beyond and len(beyond):
        best, far = _nearest_by_tree(locator, lon[beyond], lat[beyond])
        nearest[beyond], dist[beyond] = best, far
        ok = (best >= 0) & (far <= tolerance_m)
        near[beyond[ok]] = best[ok]
    return near, dist, nearest


# ---------------------------------------------------------------------------------------------
# Events to provinces
# ---------------------------------------------------------------------------------------------

#: Columns of :attr:`JoinResult.report`.
REPORT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "case",
    "detail",
    "stated_code",
    "stated_text",
    "point_code",
    "used",
    "distance_km",
)

_ISO_PATTERN = r"AF-[A-Z]{3}"

#: ``assigned_by`` and ``used`` values, by their integer code in the rule steps.
_BY: tuple[str, ...] = ("none", "point", "stated", "nearest")
_NONE, _POINT, _STATED, _NEAREST = range(4)

#: Report cases, by their integer code in the rule steps (0: no report row).
_CASES: tuple[object, ...] = (None, "disagreement", "outside", "border", "unlocatable")
_NO_CASE, _DISAGREEMENT, _OUTSIDE, _BORDER, _UNLOCATABLE = range(5)


@dataclass
class JoinResult:
    """Events with their assigned province, and the rows that need a human eye.

    Attributes
    ----------
    events : pandas.DataFrame
        The input rows, same order and index, plus ``assigned_code`` (code or None),
        ``assigned_province`` (name or None) and ``assigned_by`` ("point", "nearest", "stated",
        "none").
    report : pandas.DataFrame
        One row per event needing a look: ``event_id`` (as given), ``case`` ("disagreement",
        "outside", "border", "unlocatable"), ``detail`` (a plain sentence), ``stated_code`` (the
        stated province, resolved), ``stated_text`` (the province text as given, that
        ``stated_code`` was resolved from), ``point_code``, ``used`` ("point", "stated",
        "nearest", "none") and ``distance_km``. Indexed like the events it describes.
    n_input, n_assigned, n_unassigned : int
        Counts; ``n_assigned + n_unassigned == n_input`` always.
    tolerance_m : float, optional
        Snapping tolerance used for points outside every polygon; by default
        :data:`settings.BORDER_TOLERANCE_M`, read when the result is made.
    """

    events: pd.DataFrame
    report: pd.DataFrame
    n_input: int
    n_assigned: int
    n_unassigned: int
    tolerance_m: float | None = None

    def __post_init__(self):
        if self.tolerance_m is None:
            self.tolerance_m = float(settings.BORDER_TOLERANCE_M)

    def counts_by(self) -> dict[str, int]:
        """Return the number of events per ``assigned_by`` value.

        Returns
        -------
        dict
            Keys "point", "stated", "nearest", "none", all present.
        """
        by = self.events["assigned_by"].value_counts()
        return {k: int(by.get(k, 0)) for k in ("point", "stated", "nearest", "none")}

    def summary_line(self) -> str:
        """Return the join in one sentence.

        Returns
        -------
        str
            For example "1,000 events: 987 assigned (950 by point, 30 by stated province, 7
            nearest within 5 km), 13 unassigned; 21 need a look (see report)".

        Examples
        --------
        >>> import pandas as pd
        >>> events = pd.DataFrame({"assigned_by": ["point", "point", "none"]})
        >>> JoinResult(events, pd.DataFrame(), 3, 2, 1).summary_line()
        '3 events: 2 assigned (2 by point, 0 by stated province, 0 nearest within 5 km), 1 unassigned; 0 need a look (see report)'
        """  # noqa: E501
        return join_sentence(
            self.n_input, self.n_assigned, self.n_unassigned, self.counts_by(),
            len(self.report), self.tolerance_m,
        )


def join_sentence(n_input, n_assigned, n_unassigned, by, n_look, tolerance_m, where="see report"):
    """Say a join's counts in one sentence (see :meth:`JoinResult.summary_line`).

    ``by`` maps ``assigned_by`` values ("point", "stated", "nearest") to counts; ``where`` says
    where the events that need a look are listed.
    """
    km = f"{tolerance_m / 1000:g}"
    return (
        f"{n_input:,} events: {n_assigned:,} assigned ({by.get('point', 0):,} by point, "
        f"{by.get('stated', 0):,} by stated province, {by.get('nearest', 0):,} nearest within "
        f"{km} km), {n_unassigned:,} unassigned; {n_look:,} need{'s' if n_look == 1 else ''} a "
        f"look ({where})"
    )


# -- text columns as small integer codes -----------------------------------------------------


@dataclass(frozen=True)
class _Factorized:
    """A text column as integer ids (-1 for missing or blank) into its distinct stripped texts."""

    ids: np.ndarray
    texts: np.ndarray

    def text_of(self, ids: np.ndarray) -> np.ndarray:
        """Return the stripped text (or None) of each id."""
        return np.append(self.texts, None)[ids]


def _arrow_strings(values):
    """Return an Arrow-backed text column as a pyarrow ChunkedArray, or None for other columns."""
    import pyarrow as pa

    if getattr(values.dtype, "storage", None) == "pyarrow" or (
        isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_string(values.dtype.pyarrow_dtype)
    ):
        arrow = pa.array(values.array)
        if isinstance(arrow, pa.Array):
            arrow = pa.chunked_array([arrow], type=arrow.type)
        return arrow
    return None


def _dictionary_ids(arrow) -> tuple[np.ndarray, list]:
    """Return an Arrow text array as int32 ids (-1 for missing) into its distinct texts."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(arrow).unify_dictionaries().combine_chunks()
    ids = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int32, copy=False)
    return ids, encoded.dictionary.to_pylist()


def _expected_ids(arrow, expected: list[str]) -> tuple[np.ndarray, list]:
    """As :func:`_dictionary_ids`, but ids below ``len(expected)`` are the expected texts.

    One lookup in a small table per row (cheaper than growing a dictionary); only the rows
    holding some other text are dictionary-encoded, and their ids follow the expected ones.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(arrow, value_set=pa.array(expected, type=arrow.type))
    ids = pc.fill_null(found, -1).to_numpy().astype(np.int32, copy=False)
    texts = list(expected)
    if found.null_count > arrow.null_count:  # some rows hold a text not expected
        other = np.flatnonzero(pc.and_(pc.is_null(found), pc.is_valid(arrow)).to_numpy())
        other_ids, other_texts = _dictionary_ids(arrow.take(pa.array(other)))
        ids = ids.copy() if not ids.flags.writeable else ids
        ids[other] = other_ids + len(texts)
        texts += other_texts
    return ids, texts


def factorize_text(values, expected=None) -> _Factorized:
    """Return a text column as ids into its distinct texts, stripped, blank counted as missing.

    Arrow-backed text is dictionary-encoded by Arrow (or, with ``expected``, looked up in the
    expected texts first) and categoricals keep their codes, so no Python object is made per
    row; other columns go through :func:`pandas.factorize`.

    Parameters
    ----------
    values : pandas.Series
        Text (any dtype; non-text values are taken as their ``str``).
    expected : sequence of str, optional
        Texts the column mostly holds, stripped (the layer's codes, say). Only a speed-up: the
        ids name the same texts either way, though a text may then appear twice in ``texts``
        (once expected, once as given with spaces around it).

    Returns
    -------
    _Factorized
        ``ids`` (int32, -1 for missing) and ``texts`` (object array of stripped texts, None where
        a text is blank).
    """
    arrow = _arrow_strings(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        ids, uniques = values.cat.codes.to_numpy(np.int32), list(values.cat.categories)
    elif arrow is not None and expected:
        ids, uniques = _expected_ids(arrow, [str(t) for t in expected])
    elif arrow is not None:
        ids, uniques = _dictionary_ids(arrow)
    else:
        ids, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        ids, uniques = ids.astype(np.int32), list(uniques)
    texts = np.empty(len(uniques), dtype=object)
    texts[:] = [str(t).strip() or None for t in uniques]
    return _Factorized(ids, texts)


def _column(events: pd.DataFrame, name: str) -> pd.Series:
    """Return a column, or an all-missing one when the frame lacks it."""
    if name in events.columns:
        return events[name]
    return pd.Series([None] * len(events), index=events.index, dtype=object)


def _take_or_missing(values: np.ndarray, ids: np.ndarray, missing=-1):
    """Return ``values[ids]``, with ``missing`` where ``ids`` is -1."""
    return np.append(values, missing)[ids]


def _take_objects(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Return ``values[positions]`` (positions 0 or more) as an object array.

    pandas' take copies object references about a third faster than numpy's indexing.
    """
    return pd.api.extensions.take(np.asarray(values, dtype=object), positions,
                                  allow_fill=True, fill_value=None)


def _take_objects_after_none(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Return ``values[positions - 1]`` as an object array, with None where ``positions`` is 0."""
    return _take_objects(np.append([None], values), positions)


def _or_missing(ids: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Return ``ids`` (-1 or more) where ``keep``, else -1.

    Branch-free, as fast as one addition (``np.where`` on a mixed mask is ten times slower):
    ``keep - 1`` is 0 or -1, and -1 has every bit set.
    """
    return ids | (keep.view(np.int8) - np.int8(1))


# -- the layer: codes, names, labels -----------------------------------------------------------


@dataclass(frozen=True)
class LayerCodes:
    """The codes of a layer's polygons, with names and labels, as the join uses them.

    Attributes
    ----------
    locator : PointLocator
        The layer's locator.
    codes : numpy.ndarray
        Distinct polygon codes, in the border rule's order; a code's id is its position here.
    code_of_rank : numpy.ndarray
        The code id of each polygon rank.
    names : numpy.ndarray
        Each code's name (None where the layer has none).
    labels : numpy.ndarray
        Each code as written in the report: "Name (CODE)", or the code alone.
    is_iso : bool
        Whether every code is an ISO 3166-2:AF province code (stated provinces are compared).
    code_field : str
        The layer's code column.
    """

    locator: PointLocator
    codes: np.ndarray
    code_of_rank: np.ndarray
    names: np.ndarray
    labels: np.ndarray
    is_iso: bool
    code_field: str
    rank_is_id: bool = False

    @property
    def distinct_codes(self) -> bool:
        """Whether the codes are distinct texts (no missing code): usable as categories as is."""
        return all(isinstance(c, str) for c in self.codes)

    def id_of_rank(self, rank: np.ndarray) -> np.ndarray:
        """Return the code id of each polygon rank (-1 for -1)."""
        if self.rank_is_id:  # distinct codes: a polygon's rank is its code's id
            return rank
        return np.append(self.code_of_rank, -1)[rank]

    def id_of(self, codes: np.ndarray) -> np.ndarray:
        """Return the id of each code (-1 for None and for codes not in the layer)."""
        lookup = {c: i for i, c in enumerate(self.codes) if c is not None}
        return np.array([lookup.get(c, -1) for c in codes], dtype=np.int64)


def layer_codes(boundaries, code_field: str = "province_code", name_field: str = "province"):
    """Return the :class:`LayerCodes` of a layer (cached with its locator).

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame
        The polygon layer.
    code_field, name_field : str
        Its code and (optional) name columns.

    Returns
    -------
    LayerCodes
        Codes, names and labels in the border rule's order.
    """
    locator = get_locator(boundaries, code_field)
    cache = locator.__dict__.setdefault("_layer_codes", {})
    if name_field in cache:
        return cache[name_field]
    code_of_rank, codes = pd.factorize(pd.Series(locator.codes, dtype=object),
                                       use_na_sentinel=False)
    codes = np.asarray(codes, dtype=object)
    raw_names = (
        boundaries[name_field].to_numpy(dtype=object)[locator.positions]
        if name_field in boundaries.columns
        else np.full(len(locator.codes), None, dtype=object)
    )
    names = np.full(len(codes), None, dtype=object)
    names[code_of_rank] = [None if nm is None else str(nm) for nm in raw_names]  # last wins
    labels = np.array(
        [f"{nm} ({c})" if nm and nm != c else str(c) for c, nm in zip(codes, names, strict=True)],
        dtype=object,
    )
    real = [c for c in codes if c is not None]
    iso = _iso_codes()
    is_iso = bool(real) and all(
        isinstance(c, str) and (c in iso if iso else re.fullmatch(_ISO_PATTERN, c) is not None)
        for c in real
    )
    code_of_rank = code_of_rank.astype(np.int32)
    rank_is_id = bool(np.array_equal(code_of_rank, np.arange(len(code_of_rank))))
    result = LayerCodes(locator, codes, code_of_rank, names, labels, is_iso, code_field,
                        rank_is_id)
    cache[name_field] = result
    return result


def _iso_codes() -> set[str]:
    """Return the 34 ISO 3166-2:AF codes, from the gazetteer when it is available."""
    try:
        from khorasan_map.gazetteer import province_table

        return set(province_table()["province_code"])
    except ImportError:  # pragma: no cover
        return set()


# -- step 1: the stated province ---------------------------------------------------------------


@dataclass(frozen=True)
class _Stated:
    """The stated province of each event: a code id (-1 for none) and the text it came from."""

    ids: np.ndarray
    code_text: _Factorized
    name_ids: np.ndarray
    name_texts: np.ndarray

    def text_ids(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return, for ``rows``, ids into a table of texts as given (the code, else the name)."""
        ids = self.code_text.ids[rows].astype(np.int64)
        has_code = np.append(pd.notna(self.code_text.texts), False).astype(bool)
        if has_code[:-1].all():  # only the rows without a code text read their name
            no_code = np.flatnonzero(ids < 0)
        else:
            no_code = np.flatnonzero(~has_code[ids])  # usually few rows: read their name instead
        name_ids = self.name_ids[rows[no_code]]
        ids[no_code] = np.where(name_ids >= 0, len(self.code_text.texts) + name_ids, -1)
        return ids, np.concatenate([self.code_text.texts, self.name_texts]).astype(object)

    def text(self, rows: np.ndarray) -> np.ndarray:
        """Return the province text as given (the code, else the name) of ``rows``."""
        ids, texts = self.text_ids(rows)
        return np.append(texts, None)[ids]


def _resolve_texts(texts: np.ndarray, layer: LayerCodes, codes_first: bool) -> np.ndarray:
    """Return the layer id each distinct text names: -1 for none, -2 for a code not in the layer.

    ``codes_first``: a text that is one of the layer's codes in any case is taken as that code
    before the gazetteer is asked (the ``province_code`` column).
    """
    from khorasan_map.gazetteer import resolve_provinces

    upper = np.array([None if t is None else t.upper() for t in texts], dtype=object)
    ids = layer.id_of(upper) if codes_first else np.full(len(texts), -1, dtype=np.int64)
    ask = (ids < 0) & ~pd.isna(texts).astype(bool)
    if ask.any():
        resolved = np.asarray(resolve_provinces(texts[ask], errors="coerce"), dtype=object)
        found = layer.id_of(resolved)
        ids[ask] = np.where((found < 0) & ~pd.isna(resolved).astype(bool), -2, found)
    return ids


def stated_provinces(events: pd.DataFrame, layer: LayerCodes) -> _Stated:
    """Step 1: the stated province of each event, as a code id of the layer (-1 for none).

    It is ``province_code`` (one of the layer's codes in any case, else resolved by the
    gazetteer), or, when that names nothing, ``province`` resolved by the gazetteer. Each
    distinct text is resolved once. Against a layer whose codes are not provinces, no event has a
    stated province.

    Parameters
    ----------
    events : pandas.DataFrame
        The events.
    layer : LayerCodes
        The layer.

    Returns
    -------
    _Stated
        Ids per event, and the texts they came from.
    """
    n = len(events)
    layer_texts = [c for c in layer.codes if isinstance(c, str)]
    code_text = factorize_text(_column(events, "province_code"), expected=layer_texts)
    code_ids = np.full(len(code_text.texts), -1, dtype=np.int64)
    if layer.is_iso:
        code_ids = _resolve_texts(code_text.texts, layer, codes_first=True)
    # Per distinct code text, missing last: the stated id, and whether the name is read instead
    # (the code names nothing; a code outside the layer, -2, names something unknown).
    id_of_text = np.maximum(code_ids, -1)
    if np.array_equal(id_of_text, np.arange(len(id_of_text))):  # the texts are the codes
        ids = code_text.ids.astype(np.int32, copy=True)
    else:
        ids = np.append(id_of_text, -1).astype(np.int32)[code_text.ids]
    read_name = np.append(code_ids == -1, True)
    if read_name[:-1].any():
        no_code = np.flatnonzero(read_name[code_text.ids])
    else:  # only the rows without a code text
        no_code = np.flatnonzero(code_text.ids < 0)
    name_ids = np.full(n, -1, dtype=np.int32)
    name_texts = np.empty(0, dtype=object)
    if len(no_code) and "province" in events.columns:
        column = events["province"]
        names = factorize_text(column if len(no_code) == n else column.iloc[no_code])
        name_ids[no_code], name_texts = names.ids, names.texts
        if layer.is_iso:
            from_name = _resolve_texts(names.texts, layer, codes_first=False)
            ids[no_code] = np.append(np.maximum(from_name, -1), -1)[names.ids]
    return _Stated(ids, code_text, name_ids, name_texts)


# -- step 2: usable points ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Points:
    """Coordinates and precision of each event, and which events are placed by their point."""

    lon: np.ndarray
    lat: np.ndarray
    use_point: np.ndarray
    precision: _Factorized
    district_of: np.ndarray  # whether each distinct precision (missing last) is "district"

    def has_xy(self, rows: np.ndarray) -> np.ndarray:
        """Whether the coordinates of ``rows`` are usable (finite, within ±90 and ±180)."""
        with np.errstate(invalid="ignore"):  # NaN and infinity fail both tests
            return (np.abs(self.lat[rows]) <= 90) & (np.abs(self.lon[rows]) <= 180)

    def district(self, rows: np.ndarray) -> np.ndarray:
        """Whether ``rows`` have district precision."""
        return self.district_of[self.precision.ids[rows]]


def _flag_of(flags: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Return ``flags[ids]`` (id -1 picks the last flag), by comparisons when few are False."""
    unset = np.flatnonzero(~flags[:-1])
    if not flags[-1] or len(unset) > 2:
        return flags[ids]
    result = np.ones(len(ids), dtype=bool)
    for i in unset:  # usually one: the "province" precision
        result &= ids != i
    return result


def _float_column(events: pd.DataFrame, name: str) -> np.ndarray:
    """Return a column as float64 numbers (not copied when it is float64 already)."""
    values = _column(events, name)
    if values.dtype == np.float64:
        return values.to_numpy()
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def usable_points(events: pd.DataFrame, stated: _Stated) -> _Points:
    """Step 2: which events are placed by their point.

    A point is used where the coordinates are usable (finite, latitude within ±90, longitude
    within ±180) and ``location_precision`` is exact, near or district (or missing), or is
    province while no stated province stands in.

    Parameters
    ----------
    events : pandas.DataFrame
        The events.
    stated : _Stated
        Their stated provinces (step 1).

    Returns
    -------
    _Points
        Coordinates, precision flags and ``use_point``.
    """
    lat = _float_column(events, "latitude")
    lon = _float_column(events, "longitude")
    precision = factorize_text(_column(events, "location_precision"),
                               expected=settings.LOCATION_PRECISIONS)
    lowered = np.array([None if p is None else p.lower() for p in precision.texts], dtype=object)
    point_like = np.array([p is None or p in settings.POINT_PRECISIONS for p in lowered], bool)
    # Whether the point is used, by distinct precision (missing last), with a stated province
    # standing in and without one (the few events without: set apart).
    use_with = np.append(point_like, True)
    use_without = np.append(point_like | (lowered == "province"), True)
    use_point = _flag_of(use_with, precision.ids)  # by its precision, then its coordinates
    no_stated = np.flatnonzero(stated.ids < 0)
    use_point[no_stated] = use_without[precision.ids[no_stated]]
    with np.errstate(invalid="ignore"):  # NaN and infinity fail both tests
        magnitude = np.abs(lat)
        use_point &= magnitude <= 90
        use_point &= np.abs(lon, out=magnitude) <= 180
    district_of = np.append(lowered == "district", False).astype(bool)
    return _Points(lon, lat, use_point, _Factorized(precision.ids, lowered), district_of)


# -- step 3: locate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Located:
    """Where each used point falls: a code id (-1 outside every polygon) and border covers."""

    point_ids: np.ndarray
    border_rows: np.ndarray
    cover_set: np.ndarray
    cover_labels: np.ndarray
    stated_in_cover: np.ndarray


def _cover_sets(locator, layer, rows, lon, lat):
    """Return, for border points, an id of their set of covering polygons and each set's labels."""
    p_i, p_r = locator.covering(lon, lat)
    order = np.lexsort((p_r, p_i))
    p_i, p_r = p_i[order], p_r[order]
    counts = np.bincount(p_i, minlength=len(rows))
    width = int(counts.max()) if len(counts) else 0
    slot = np.arange(len(p_i)) - np.repeat(np.cumsum(counts) - counts, counts)
    table = np.full((len(rows), width), -1, dtype=np.int64)
    table[p_i, slot] = p_r
    sets, cover_set = np.unique(table, axis=0, return_inverse=True)
    labels = np.array(
        [", ".join(layer.labels[layer.code_of_rank[r]] for r in s if r >= 0) for s in sets],
        dtype=object,
    )  # one per distinct set of covering polygons, not per event
    return cover_set.ravel(), labels, p_i, p_r


def locate_events(points: _Points, stated: _Stated, layer: LayerCodes) -> _Located:
    """Step 3: locate the used points, and settle shared borders.

    A point covered by two or more polygons (on a shared edge or vertex, or in an overlap) goes
    to the stated province if that is one of them, else to the polygon whose code sorts first
    (the module's border rule).

    Parameters
    ----------
    points : _Points
        Usable points (step 2).
    stated : _Stated
        Stated provinces (step 1).
    layer : LayerCodes
        The layer.

    Returns
    -------
    _Located
        Point code ids, and for border points their covering polygons.
    """
    # Every point is located (missing ones cost nothing), then the unused ones are dropped.
    rank, multi = layer.locator.locate_covered(points.lon, points.lat)
    point_ids = _or_missing(layer.id_of_rank(rank), points.use_point)
    border = multi[points.use_point[multi]]
    cover_set = np.empty(0, dtype=np.int64)
    cover_labels = np.empty(0, dtype=object)
    stated_in = np.zeros(len(border), dtype=bool)
    if len(border):
        cover_set, cover_labels, p_i, p_r = _cover_sets(
            layer.locator, layer, border, points.lon[border], points.lat[border]
        )
        match = layer.code_of_rank[p_r] == stated.ids[border][p_i]
        stated_in[p_i[match]] = True
        point_ids[border[stated_in]] = stated.ids[border[stated_in]]
    return _Located(point_ids, border, cover_set, cover_labels, stated_in)


# -- step 4: snap points outside every polygon -------------------------------------------------


@dataclass(frozen=True)
class _Snapped:
    """The used points outside every polygon, and the nearest polygon within the tolerance."""

    rows: np.ndarray
    near_ids: np.ndarray  # code id of the nearest polygon within the tolerance, -1 beyond it
    distance_km: np.ndarray  # its distance (NaN beyond the tolerance)


def snap_outside(points: _Points, located: _Located, layer: LayerCodes, tolerance_m: float):
    """Step 4: the nearest polygon, within the tolerance, of used points outside every polygon.

    Points in grid cells farther than the tolerance from every polygon are never measured.

    Parameters
    ----------
    points : _Points
        Usable points (step 2).
    located : _Located
        Located points (step 3).
    layer : LayerCodes
        The layer.
    tolerance_m : float
        The tolerance, in metres.

    Returns
    -------
    _Snapped
        The rows outside every polygon, their nearest polygon's code id within the tolerance
        (-1 beyond it) and its distance.
    """
    rows = np.flatnonzero(points.use_point & (located.point_ids < 0))
    near_ids = np.empty(0, dtype=np.int32)
    distance_km = np.empty(0)
    if len(rows):
        near, dist, _ = layer.locator.nearest(
            points.lon[rows], points.lat[rows], tolerance_m, measure_beyond=False
        )
        near_ids = layer.id_of_rank(near).astype(np.int32)  # as the point code ids
        distance_km = dist / 1000.0
    return _Snapped(rows, near_ids, distance_km)


# -- step 5: compare with the stated province ------------------------------------------------


#: The rules' outcomes: (assigned_by, report case, used, where the code comes from), numbered
#: in this order (:func:`compare_with_stated` computes the numbers).
_RULES: dict[str, tuple[int, int, int, int]] = {
    "unlocatable": (_NONE, _UNLOCATABLE, _NONE, _NONE),
    "stated only": (_STATED, _NO_CASE, _NONE, _STATED),
    "point": (_POINT, _NO_CASE, _NONE, _POINT),
    "border": (_POINT, _BORDER, _POINT, _POINT),
    "disagreement, point wins": (_POINT, _DISAGREEMENT, _POINT, _POINT),
    "disagreement, stated wins": (_STATED, _DISAGREEMENT, _STATED, _STATED),
    "nearest": (_NEAREST, _OUTSIDE, _NEAREST, _NEAREST),
    "nearest disagrees, stated wins": (_STATED, _OUTSIDE, _STATED, _STATED),
    "beyond, unassigned": (_NONE, _OUTSIDE, _NONE, _NONE),
    "beyond, stated": (_STATED, _OUTSIDE, _STATED, _STATED),
}
_RULE_TABLE = np.array(list(_RULES.values()), dtype=np.int8)
_RULE_ID = {name: i for i, name in enumerate(_RULES)}
_BY_OF_RULE, _CASE_OF_RULE, _USED_OF_RULE = (np.ascontiguousarray(_RULE_TABLE[:, k])
                                             for k in range(3))
#: ``assigned_by`` of each rule, as the text the events get.
_BY_TEXT_OF_RULE = np.asarray(_BY, dtype=object)[_BY_OF_RULE]


@dataclass
class _Decision:
    """The outcome of the rules: for every event, and for the rows of the report.

    ``assigned`` and ``rule`` (a number of :data:`_RULES`) have one entry per event; ``case``,
    ``used``, ``point_ids``, ``distance_km`` and ``stated_ids`` (the stated province's code id)
    one per report row (``rows``, the events that need a look, in order).
    """

    assigned: np.ndarray
    rule: np.ndarray
    rows: np.ndarray
    case: np.ndarray
    used: np.ndarray
    point_ids: np.ndarray
    distance_km: np.ndarray
    stated_ids: np.ndarray


def _outside_rules(points, stated, snapped: _Snapped):
    """Return the rule and the assigned code id of each point outside every polygon."""
    s = stated.ids[snapped.rows]
    has_stated = s >= 0
    rule = _RULE_ID["beyond, unassigned"] + has_stated.view(np.int8)  # beyond: stated, or -1
    assigned = s.copy()
    near = np.flatnonzero(snapped.near_ids >= 0)  # few: most points outside are far outside
    if len(near):
        near_ids = snapped.near_ids[near]
        stated_wins = has_stated[near] & (s[near] != near_ids) & points.district(
            snapped.rows[near])
        rule[near] = _RULE_ID["nearest"] + stated_wins
        assigned[near] = np.where(stated_wins, s[near], near_ids)
    return rule, assigned


def compare_with_stated(points, stated, located, snapped: _Snapped) -> _Decision:
    """Step 5: choose between the point and the stated province, and name the report case.

    For exact and near precision the point wins a disagreement; for district precision the
    stated province wins (see :func:`assign_provinces`). Outside every polygon the nearest
    polygon within the tolerance stands in for the point; beyond it, the stated province.

    Every event first gets the common outcome (its point where it has one inside a polygon,
    else its stated province); the few events on a border, in disagreement or outside every
    polygon are then settled one rule at a time.

    Returns
    -------
    _Decision
        Assigned code ids and ``assigned_by`` for every event; report case, ``used``, point
        code ids and distances for the report rows.
    """
    s, code = stated.ids, located.point_ids
    inside = code >= 0
    has_stated = s >= 0
    # "point" (2) inside a polygon, else "stated only" (1) or "unlocatable" (0).
    rule = np.maximum(inside.view(np.int8) * np.int8(_RULE_ID["point"]), has_stated.view(np.int8))
    # The point inside a polygon, else the stated province (or -1); where both are given and
    # differ (a disagreement, settled below) the larger id, for now.
    assigned = np.maximum(code, s)
    rule[located.border_rows] = _RULE_ID["border"]
    disagree = np.flatnonzero((s != code) & inside & has_stated)
    if len(disagree):
        stated_wins = points.district(disagree)
        rule[disagree] = _RULE_ID["disagreement, point wins"] + stated_wins
        assigned[disagree] = np.where(stated_wins, s[disagree], code[disagree])
    if len(snapped.rows):
        rule[snapped.rows], assigned[snapped.rows] = _outside_rules(points, stated, snapped)
    rows = np.flatnonzero((rule != _RULE_ID["point"]) & (rule != _RULE_ID["stated only"]))
    rule_of_row = rule[rows].astype(np.intp)  # an index for the two lookups below
    case = _CASE_OF_RULE[rule_of_row]
    # The point's code id and the distance of each report row: outside every polygon (the
    # report rows of snapped.rows, in the same order), those of the nearest polygon.
    outside = np.flatnonzero(case == _OUTSIDE)
    point_ids = code[rows]
    point_ids[outside] = snapped.near_ids
    distance_km = np.full(len(rows), np.nan)
    distance_km[outside] = snapped.distance_km
    return _Decision(assigned, rule, rows, case, _USED_OF_RULE[rule_of_row], point_ids,
                     distance_km, s[rows])


# -- step 6: report ----------------------------------------------------------------------------


def _text_by_key(parts: list[tuple[np.ndarray, int]], build) -> tuple[np.ndarray, np.ndarray]:
    """Return one text per row, built once per distinct combination of small integer keys.

    ``parts`` are (values, number of possible values) pairs; ``build`` takes one array per part,
    holding the distinct combinations, and returns their texts. Returns each row's position in
    the texts, and the texts.
    """
    key = parts[0][0].astype(np.int64)
    total = parts[0][1]
    for values, size in parts[1:]:
        key = key * size + values
        total *= size
    if total <= max(1 << 20, 4 * len(key)):
        seen = np.zeros(total, dtype=bool)
        seen[key] = True
        distinct = np.flatnonzero(seen)
        inverse = (np.cumsum(seen) - 1)[key]
    else:
        distinct, inverse = np.unique(key, return_inverse=True)
    columns, rest = [], distinct
    for _, size in reversed(parts):
        columns.append(rest % size)
        rest = rest // size
    return inverse, np.asarray(build(*columns[::-1]), dtype=object)


def _tenths(km: np.ndarray) -> np.ndarray:
    """Return ``km`` in whole tenths, rounded as ``f"{km:.1f}"`` rounds (half to even, exactly).

    The product by ten is exact in extended precision, so the rounding sees the true value.
    """
    return np.rint(km.astype(np.longdouble) * 10).astype(np.int64)


def _one_decimal(tenths: np.ndarray) -> np.ndarray:
    """Return whole tenths as text with one decimal ("12.3")."""
    whole = (tenths // 10).astype(str).astype(object)
    return whole + "." + (tenths % 10).astype(str).astype(object)


@dataclass(frozen=True)
class _Wording:
    """What the report's sentences need: labels of codes and the tolerance in kilometres."""

    labels: np.ndarray  # label of code id i at position i + 1; "" at 0
    cover_labels: np.ndarray
    km: str


def _border_covers(located: _Located, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the id of each row's set of covering polygons (-1 off a border), and more.

    Also returns whether the stated province is one of the covering polygons.
    """
    cover = np.full(len(rows), -1, dtype=np.int64)
    stated_in = np.zeros(len(rows), dtype=bool)
    if len(located.border_rows):
        at = np.minimum(np.searchsorted(located.border_rows, rows), len(located.border_rows) - 1)
        on = located.border_rows[at] == rows
        cover[on] = located.cover_set[at[on]]
        stated_in[on] = located.stated_in_cover[at[on]]
    return cover, stated_in


def _disagreement_text(w: _Wording, sel, dec, located, points):
    rows = dec.rows[sel]
    cover = _border_covers(located, rows)[0] + 1
    district = points.district(rows).astype(np.int64)

    def build(cover, code, s, district):
        label = w.labels[code]
        on_border = ("on the border of " + np.append("", w.cover_labels)[cover]
                     + ", assigned by the border rule to " + label)
        where = np.where(cover > 0, on_border, "in " + label)
        why = np.where(
            district == 1,
            "the stated province was used, because district-precision coordinates are a district "
            "centroid whose lineage may draw this border differently",
            "the point was used, because coordinates are more specific than a province name",
        )
        return ("The coordinates fall " + where + " but the source names " + w.labels[s]
                + "; " + why.astype(object) + ".")

    n_codes = len(w.labels)
    return _text_by_key([(cover, len(w.cover_labels) + 1), (located.point_ids[rows] + 1, n_codes),
                         (dec.stated_ids[sel] + 1, n_codes), (district, 2)], build)


def _border_text(w: _Wording, sel, dec, located):
    rows = dec.rows[sel]
    cover, stated_in = _border_covers(located, rows)

    def build(cover, code, rule):
        rule_text = np.where(rule == 1, "the stated province, one of them",
                             "the first code in sort order (border rule)").astype(object)
        return ("The point lies on the shared border of " + w.cover_labels[cover]
                + "; it was given to " + w.labels[code] + ", " + rule_text + ".")

    return _text_by_key([(cover, max(len(w.cover_labels), 1)),
                         (located.point_ids[rows] + 1, len(w.labels)),
                         (stated_in.astype(np.int64), 2)], build)


def _near_text(w: _Wording, sel, dec):
    tenths = _tenths(dec.distance_km[sel])
    used_stated = (dec.used[sel] == _STATED).astype(np.int64)
    near = dec.point_ids[sel]
    s = dec.stated_ids[sel]
    named = ((s >= 0) & (s != near)).astype(np.int64)
    n_codes = len(w.labels)

    def build_start(tenths, near):
        return ("The point lies outside every polygon, " + _one_decimal(tenths) + " km from "
                + w.labels[near] + f", within the {w.km} km tolerance, so it was given to "
                "the nearest polygon")

    def build_end(s, used_stated, named):
        source = w.labels[s]
        return np.where(
            used_stated == 1,
            "; the source names " + source + ", which was used for a district-precision point.",
            np.where(named == 1, " (the source names " + source + ").", "."),
        ).astype(object)

    start, starts = _text_by_key(
        [(tenths, int(tenths.max()) + 1), (near + 1, n_codes)], build_start)
    end, ends = _text_by_key([(s + 1, n_codes), (used_stated, 2), (named, 2)], build_end)
    # Joined once per distinct pair of halves.
    return _text_by_key([(start, len(starts)), (end, len(ends))], lambda a, b: starts[a] + ends[b])


def _beyond_text(w: _Wording, sel, dec):
    def build(s):
        tail = np.where(
            s > 0,
            "the stated province " + w.labels[s] + " was used",
            "no stated province could stand in, so the event is unassigned",
        ).astype(object)
        return (f"The point lies outside every polygon, more than {w.km} km (the tolerance) "
                "from the nearest; " + tail + ".")

    return _text_by_key([(dec.stated_ids[sel] + 1, len(w.labels))], build)


def _unlocatable_text(sel, dec, stated, points, layer: LayerCodes):
    rows = dec.rows[sel]
    reason = np.where(~points.has_xy(rows), 0, 1 + np.maximum(points.precision.ids[rows], 0))
    text_ids, texts = pd.factorize(stated.text(rows), use_na_sentinel=True)
    precisions = np.asarray(points.precision.texts, dtype=object)
    texts = np.asarray(texts, dtype=object)

    def build(reason, text):
        first = np.array(
            ["no usable coordinates" if r == 0 else f"coordinates of {precisions[r - 1]!r} "
             "precision only" for r in reason], dtype=object)  # one per distinct wording
        if not layer.is_iso:
            second = (f"the layer's units ({layer.code_field}) are not provinces, so a stated "
                      "province cannot stand in")
        else:
            second = np.array(
                ["no stated province" if t == 0 else f"the stated province {texts[t - 1]!r} is "
                 "not a known province" for t in text], dtype=object)
        return "The event cannot be placed: " + first + " and " + second + "."

    return _text_by_key([(reason, len(precisions) + 1), (text_ids + 1, len(texts) + 1)], build)


def _categorical(codes: np.ndarray, categories, distinct: bool = False) -> pd.Categorical:
    """Return a categorical column from codes (-1 for missing).

    Repeated categories are merged, and a missing category makes its rows missing, unless the
    caller says the categories are ``distinct`` texts already.
    """
    categories = pd.Index(np.asarray(categories, dtype=object), dtype=object)
    # The checks are the ones CategoricalDtype makes (it reuses their cached answers).
    if not distinct and (categories.hasnans or not categories.is_unique):
        merged, uniques = pd.factorize(categories.to_numpy(), use_na_sentinel=True)
        codes = np.append(merged, -1)[codes]
        categories = pd.Index(uniques, dtype=object)
    dtype = pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def join_report(events, dec: _Decision, stated, points, located, layer, tolerance_m):
    """Step 6: one report row per event that needs a look, in the events' order.

    Each distinct sentence is written once and shared by every row it describes: ``detail``,
    ``stated_code``, ``stated_text`` and ``point_code`` are categoricals; ``case`` and ``used``
    are plain text (their counts list only the cases present).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REPORT_COLUMNS`, indexed like the events.
    """
    rows, case = dec.rows, dec.case
    w = _Wording(np.append([""], layer.labels).astype(object), located.cover_labels,
                 f"{tolerance_m / 1000:g}")
    detail = np.full(len(rows), -1, dtype=np.int64)
    sentences: list[np.ndarray] = []
    outside = case == _OUTSIDE
    beyond = outside & (dec.point_ids < 0)
    for selected, write in (
        (case == _DISAGREEMENT, lambda r: _disagreement_text(w, r, dec, located, points)),
        (case == _BORDER, lambda r: _border_text(w, r, dec, located)),
        (outside & ~beyond, lambda r: _near_text(w, r, dec)),
        (beyond, lambda r: _beyond_text(w, r, dec)),
        (case == _UNLOCATABLE, lambda r: _unlocatable_text(r, dec, stated, points, layer)),
    ):
        sel = np.flatnonzero(selected)
        if len(sel):
            which, texts = write(sel)
            detail[sel] = which + sum(len(t) for t in sentences)
            sentences.append(texts)
    index = events.index[rows]
    columns = {
        "event_id": _column(events, "event_id").array.take(rows),
        "case": _take_objects(_CASES, case),  # object: counts list only real cases
        "detail": _categorical(detail, np.concatenate(sentences) if sentences else []),
        "stated_code": _categorical(dec.stated_ids, layer.codes, layer.distinct_codes),
        "stated_text": _categorical(*stated.text_ids(rows)),
        "point_code": _categorical(dec.point_ids, layer.codes, layer.distinct_codes),
        "used": _take_objects(_BY, dec.used),
        "distance_km": dec.distance_km,
    }
    frame = pd.DataFrame(index=index)
    for name in REPORT_COLUMNS:  # one block per column: nothing is copied into a 2-D block
        values = columns[name]
        dtype = object if isinstance(values, np.ndarray) and values.dtype == object else None
        frame[name] = pd.Series(values, index=index, dtype=dtype, copy=False)
    return frame


def _check_arguments(events, tolerance_m) -> float:
    """Return the tolerance to use, after checking the arguments of :func:`assign_provinces`."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas DataFrame, not {type(events).__name__}")
    if tolerance_m is None:
        tolerance_m = settings.BORDER_TOLERANCE_M
    if isinstance(tolerance_m, bool) or not (
        isinstance(tolerance_m, (int, float)) and tolerance_m >= 0
    ):
        raise ValueError(
            f"tolerance_m must be a distance in metres, 0 or more, not {tolerance_m!r}"
        )
    return float(tolerance_m)


def _joined_events(events: pd.DataFrame, dec: _Decision, layer: LayerCodes) -> pd.DataFrame:
    """Return the events (not copied: pandas copies on write) with the three assigned columns."""
    out = events.copy(deep=False)
    assigned_by = _take_objects(_BY_TEXT_OF_RULE, dec.rule)  # first: its index is freed at once
    after_none = np.add(dec.assigned, 1, dtype=np.intp)  # code id -1 picks the None put first
    columns = {
        "assigned_code": _take_objects_after_none(layer.codes, after_none),
        "assigned_province": _take_objects_after_none(layer.names, after_none),
        "assigned_by": assigned_by,
    }
    for name, values in columns.items():
        out[name] = pd.Series(values, index=events.index, dtype=object, copy=False)
    return out


def assign_provinces(
    events: pd.DataFrame,
    boundaries=None,
    *,
    tolerance_m: float | None = None,
    code_field: str = "province_code",
    name_field: str = "province",
) -> JoinResult:
    """Give every event a province (or the user layer's unit) and report what needs a look.

    The rules, in order:

    1. **Point.** Where ``location_precision`` is exact, near or district (or missing) and the
       coordinates are usable (finite, latitude within ±90, longitude within ±180), the point is
       located with :func:`locate_points` (``assigned_by="point"``).
    2. **Shared border.** A point covered by two or more polygons (on a shared edge or vertex, or
       in an overlap of a user's layer) goes to the stated province if that is one of them, else to
       the polygon whose code sorts first (the module's border rule); report case "border".
    3. **Disagreement.** When the point's province differs from the stated province, both are kept
       in the report (case "disagreement") and:

       - for exact and near precision the **point** wins: coordinates are more specific than a
         province name, and a source naming a neighbouring province is the commoner mistake;
       - for district precision the **stated** province wins: such coordinates are a district's
         centroid, taken from some district lineage whose edges differ from this layer's (the
         lineages overlap by a median IoU of about 0.91 only), whereas the source named the
         province outright.

    4. **Outside every polygon.** The nearest polygon within ``tolerance_m`` (measured in
       :data:`settings.EQUAL_AREA_CRS` metres) is used (``assigned_by="nearest"``, distance
       reported), subject to the same disagreement rule; beyond the tolerance the stated
       province is used if there is one, else the event stays unassigned (report case
       "outside"; the distance of a point beyond the tolerance is not measured).
    5. **No usable point.** Province precision or missing coordinates: the stated province
       (``assigned_by="stated"``). The stated province is ``province_code``, or, when that is
       empty, ``province`` resolved with :func:`khorasan_map.gazetteer.resolve_provinces` (names,
       Dari, ISO codes). A province-precision event without a resolvable stated province but with
       coordinates falls back to its point.
    6. Otherwise the event is unassigned (``assigned_by="none"``), report case "unlocatable".

    Against a user's layer whose codes are not the 34 ISO 3166-2:AF province codes (districts,
    say), ``assigned_code`` is that layer's code, stated provinces are not compared (they name a
    different kind of unit), and events without a usable point are unassigned ("unlocatable").

    The work is done in named steps, each vectorised over the events (:func:`stated_provinces`,
    :func:`usable_points`, :func:`locate_events`, :func:`snap_outside`,
    :func:`compare_with_stated`, :func:`join_report`). No row is dropped or reordered:
    ``n_assigned + n_unassigned == n_input`` and the output keeps the input's index. The input
    frame is not copied (pandas copies on write), only extended by three columns.

    Parameters
    ----------
    events : pandas.DataFrame
        Events in the schema; uses ``event_id``, ``province_code``, ``province``, ``latitude``,
        ``longitude`` and ``location_precision`` (absent columns count as empty).
    boundaries : geopandas.GeoDataFrame, optional
        The polygon layer; the shipped 34-province layer when omitted.
    tolerance_m : float, optional
        How far outside every polygon a point may lie and still be snapped to the nearest one;
        :data:`settings.BORDER_TOLERANCE_M` (read at call time) when omitted.
    code_field : str, default "province_code"
        Column of ``boundaries`` with each polygon's code.
    name_field : str, default "province"
        Column of ``boundaries`` with each polygon's name (optional).

    Returns
    -------
    JoinResult
        Events with ``assigned_code``, ``assigned_province``, ``assigned_by``, and the report.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import box
    >>> layer = gpd.GeoDataFrame({"province_code": ["AF-KAB", "AF-LOG"],
    ...                           "province": ["Kabul", "Logar"]},
    ...                          geometry=[box(69, 34, 70, 35), box(69, 33, 70, 34)], crs=4326)
    >>> events = pd.DataFrame({"event_id": ["e1", "e2"], "province_code": ["AF-KAB", None],
    ...                        "province": ["Kabul", "Logar"], "latitude": [34.5, None],
    ...                        "longitude": [69.5, None],
    ...                        "location_precision": ["exact", "province"]})
    >>> result = assign_provinces(events, layer)
    >>> result.events["assigned_code"].tolist(), result.events["assigned_by"].tolist()
    (['AF-KAB', 'AF-LOG'], ['point', 'stated'])
    >>> result.n_assigned + result.n_unassigned == result.n_input
    True
    """
    tolerance_m = _check_arguments(events, tolerance_m)
    if boundaries is None:
        boundaries = _default_boundaries()
    layer = layer_codes(boundaries, code_field, name_field)
    stated = stated_provinces(events, layer)
    points = usable_points(events, stated)
    located = locate_events(points, stated, layer)
    snapped = snap_outside(points, located, layer, tolerance_m)
    dec = compare_with_stated(points, stated, located, snapped)
    report = join_report(events, dec, stated, points, located, layer, tolerance_m)
    out = _joined_events(events, dec, layer)
    n = len(events)
    if layer.distinct_codes:  # every code id is a real code
        n_assigned = int(np.count_nonzero(dec.assigned >= 0))
    else:
        n_assigned = int(np.append(pd.notna(layer.codes), False).astype(bool)[dec.assigned].sum())
    return JoinResult(out, report, n, n_assigned, n - n_assigned, tolerance_m)
