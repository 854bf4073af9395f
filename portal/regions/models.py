"""Kazakhstan's top-level administrative units and the districts below them."""

from portal.extensions import db
from portal.i18n import localized


class Region(db.Model):
    """An oblast or a city of republican significance, keyed by its ISO 3166-2 code."""

    __tablename__ = "region"

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(8), nullable=False, unique=True)
    kind = db.Column(db.String(10), nullable=False)
    name_kk = db.Column(db.String(120), nullable=False)
    name_ru = db.Column(db.String(120), nullable=False)
    name_en = db.Column(db.String(120), nullable=False)
    centre_en = db.Column(db.String(120), nullable=False)

    districts = db.relationship("District", back_populates="region", order_by="District.name_en")

    @property
    def name(self):
        return localized(self, "name")

    def __repr__(self):
        return f"<Region {self.code}>"


class District(db.Model):
    """A district (аудан) of a region; budget cycles and residence may name one."""

    __tablename__ = "district"
    __table_args__ = (db.UniqueConstraint("region_id", "slug"),)

    id = db.Column(db.Integer, primary_key=True)
    region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=False, index=True)
    slug = db.Column(db.String(60), nullable=False)
    name_kk = db.Column(db.String(120), nullable=False)
    name_ru = db.Column(db.String(120), nullable=False)
    name_en = db.Column(db.String(120), nullable=False)

    region = db.relationship("Region", back_populates="districts")

    @property
    def name(self):
        return localized(self, "name")
