"""Many points on one canvas: the points table re-encoded as binary columns for ``kmcanvas.js``.

Above :data:`khorasan_map.settings.CANVAS_THRESHOLD` located events, a map draws its points on
one ``<canvas>`` instead of one Leaflet marker each. The page then reads the coordinates and the
drawing codes as base64 binary columns (little-endian):

=========  ================  ====================================================
``lon``    Float32           longitude of each event, degrees
``lat``    Float32           latitude of each event, degrees
``kp``     Uint8, 2 a point  kind code then precision code (into ``kinds`` and
                             ``precisions``), interleaved
=========  ================  ====================================================

The popup columns (``m``, ``d``, ``s``, ``e``, ...) stay as they are: a click finds the nearest
point and builds its popup from them on demand, with ``textContent`` like every other popup.
"""

from __future__ import annotations

import base64

import numpy as np

from khorasan_map import settings

__all__ = ["canvas_table", "uses_canvas"]


def uses_canvas(n_points: int, cluster: bool | None) -> bool:
    """Whether a map of ``n_points`` located events draws them on the canvas layer.

    Parameters
    ----------
    n_points : int
        Located events on the map.
    cluster : bool or None
        The caller's clustering choice; an explicit choice (True or False) keeps markers.

    Returns
    -------
    bool
        True when ``cluster`` is None and there are more than
        :data:`khorasan_map.settings.CANVAS_THRESHOLD` points (read at call time).

    Examples
    --------
    >>> uses_canvas(10**6, None), uses_canvas(10**6, True), uses_canvas(10, None)
    (True, False, False)
    """
    return cluster is None and n_points > settings.CANVAS_THRESHOLD


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def canvas_table(points: dict) -> dict:
    """Re-encode a points table (``render.prepare_points``) for the canvas layer.

    Parameters
    ----------
    points : dict
        The compact points table: integer ``x``/``y`` offsets, ``m`` codes into ``meta``.

    Returns
    -------
    dict
        The same table without ``x`` and ``y``, with ``canvas: True``, ``cluster: False`` and
        the base64 columns ``lon``, ``lat`` (Float32) and ``kp`` (Uint8 pairs).

    Examples
    --------
    >>> t = {"n": 1, "scale": 10, "x0": 650, "y0": 340, "x": [1], "y": [2], "m": [0],
    ...      "meta": [[0, 1, 0, 0, 0]]}
    >>> out = canvas_table(t)
    >>> out["canvas"], "x" in out, out["kp"]
    (True, False, 'AAE=')
    """
    scale = float(points["scale"])
    lon = (np.asarray(points["x"], dtype=np.float64) + points["x0"]) / scale
    lat = (np.asarray(points["y"], dtype=np.float64) + points["y0"]) / scale
    meta = np.asarray(points["meta"], dtype=np.int64).reshape(-1, 5)
    codes = np.asarray(points["m"], dtype=np.int64)
    kp = meta[codes][:, :2].astype("<u1") if len(codes) else np.zeros((0, 2), "<u1")
    table = {k: v for k, v in points.items() if k not in ("x", "y")}
    table.update(
        canvas=True,
        cluster=False,
        lon=_b64(lon.astype("<f4")),
        lat=_b64(lat.astype("<f4")),
        kp=_b64(kp),
    )
    return table
