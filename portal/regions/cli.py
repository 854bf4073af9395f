"""`flask regions load`: (re)load the reference list of regions and districts."""

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.regions.services import load_regions

cli = AppGroup("regions", help="Regions and districts of Kazakhstan.")


@cli.command("load")
def load_command():
    """Load the 20 regions and known districts (idempotent)."""
    changed = load_regions(db.session)
    db.session.commit()
    click.echo(f"Regions loaded ({changed} rows added or updated).")
