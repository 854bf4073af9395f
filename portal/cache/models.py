"""The cached aggregate row: a name (what was counted), the version of the data it was
counted from, and the result as JSON."""

from portal.extensions import db


class CachedAggregate(db.Model):
    __tablename__ = "cached_aggregate"

    name = db.Column(db.String(120), primary_key=True)
    version = db.Column(db.String(200), nullable=False)
    data = db.Column(db.JSON, nullable=False)
    computed_at = db.Column(db.DateTime, nullable=False)
