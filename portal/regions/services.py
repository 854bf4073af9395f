"""Loading the region and district reference data shipped in portal/regions/data/."""

import csv
from pathlib import Path

from sqlalchemy import select

from portal.regions.models import District, Region

DATA_DIR = Path(__file__).parent / "data"


def _rows(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_regions(session):
    """Insert or update the 20 regions and the known districts; safe to run again.

    Returns the number of rows inserted or changed.
    """
    changed = 0
    regions = {r.code: r for r in session.scalars(select(Region))}
    for row in _rows("kz_regions.csv"):
        region = regions.get(row["iso_code"]) or Region(code=row["iso_code"])
        changed += _assign(region, row, ("kind", "name_kk", "name_ru", "name_en", "centre_en"))
        if region.id is None:
            session.add(region)
            regions[region.code] = region
    session.flush()
    districts = {(d.region_id, d.slug): d for d in session.scalars(select(District))}
    for row in _rows("districts.csv"):
        region = regions[row["region_code"]]
        district = districts.get((region.id, row["slug"])) or District(
            region_id=region.id, slug=row["slug"]
        )
        changed += _assign(district, row, ("name_kk", "name_ru", "name_en"))
        if district.id is None:
            session.add(district)
    session.flush()
    return changed


def _assign(obj, row, fields):
    dirty = obj.id is None
    for field in fields:
        if getattr(obj, field) != row[field]:
            setattr(obj, field, row[field])
            dirty = True
    return int(dirty)


def region_by_code(session, code):
    return session.scalar(select(Region).where(Region.code == code))
