"""``flask --app wsgi audit verify``: check the audit log's hash chain.

Exits 0 and prints how many entries were checked when the chain is intact; exits 1 naming
the first broken entry (changed, removed or reordered) otherwise.
"""

import sys

import click
from flask.cli import AppGroup

from portal.audit import services
from portal.extensions import db

cli = AppGroup("audit", help="The audit log of privileged actions.")


@cli.command("verify")
def verify():
    """Recompute every entry's hash; exit 1 at the first broken one."""
    checked, broken = services.verify(db.session)
    if broken is None:
        click.echo(f"Audit log intact: {checked} entries checked.")
        return
    entry, reason = broken
    click.echo(f"Audit log BROKEN at entry {entry['id']} ({entry['action']}): {reason}.", err=True)
    sys.exit(1)
