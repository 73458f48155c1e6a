"""Compare the shipped province layer with another lineage, province by province (IoU).

Usage::

    python scripts/compare_boundaries.py REFERENCE.geojson [--districts]

Each reference polygon is matched to the shipped province it overlaps most (so typos in the
reference's names or codes do not matter). With ``--districts`` the reference is a district layer:
each district goes to the shipped province it overlaps most and the districts are dissolved into
provinces first. Prints one line per province (IoU = intersection area / union area, computed in
``settings.EQUAL_AREA_CRS``), then the median, minimum and total areas.
"""

from __future__ import annotations

import argparse
import sys

import pyogrio

from khorasan_map import settings
from khorasan_map.boundaries import load_provinces


def best_match(reference, shipped):
    """Return, for each reference row, the shipped province_code it overlaps most."""
    pairs = reference.reset_index(drop=True).overlay(
        shipped[["province_code", "geometry"]], how="intersection", keep_geom_type=True
    )
    pairs["area"] = pairs.area
    pairs["ref_row"] = pairs["ref_row"].astype(int)
    best = pairs.sort_values("area").groupby("ref_row")["province_code"].last()
    return best.reindex(range(len(reference)))


def compare(reference_path: str, districts: bool = False) -> int:
    shipped = load_provinces().to_crs(settings.EQUAL_AREA_CRS)
    reference = pyogrio.read_dataframe(reference_path).to_crs(settings.EQUAL_AREA_CRS)
    reference = reference[["geometry"]].assign(ref_row=range(len(reference)))
    reference["geometry"] = reference.geometry.make_valid()
    reference["province_code"] = best_match(reference, shipped).to_numpy()
    if districts:
        reference = reference.dissolve("province_code").reset_index()
    rows = []
    for code, geom in zip(reference["province_code"], reference.geometry, strict=True):
        mine = shipped.loc[shipped["province_code"] == code].geometry.iloc[0]
        iou = mine.intersection(geom).area / mine.union(geom).area
        rows.append((iou, code))
    names = dict(zip(shipped["province_code"], shipped["province"], strict=True))
    for iou, code in sorted(rows):
        print(f"{code}  {names[code]:<12} IoU {iou:.3f}")
    ious = sorted(iou for iou, _ in rows)
    median = ious[len(ious) // 2] if len(ious) % 2 else sum(ious[len(ious) // 2 - 1 :][:2]) / 2
    print(f"provinces matched: {len(set(c for _, c in rows))} of {len(shipped)}")
    print(f"IoU median {median:.3f}, min {ious[0]:.3f}")
    areas = shipped.area.sum() / 1e6, reference.area.sum() / 1e6
    print(f"area shipped {areas[0]:,.0f} km2, reference {areas[1]:,.0f} km2")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="a polygon layer pyogrio can read")
    parser.add_argument("--districts", action="store_true", help="dissolve districts first")
    args = parser.parse_args(argv)
    return compare(args.reference, args.districts)


if __name__ == "__main__":
    sys.exit(main())
