"""``flask --app wsgi budgeting verify CYCLE_ID``: do the database's ballots, the ledger and
the published result agree? Exit 0 when they do; exit 1 naming the first mismatch (a choice
changed in the database, a leaf removed, a result edited by hand …); 2 for an unknown cycle.
"""

import sys

import click
from flask import current_app

from portal.budgeting import integrity
from portal.budgeting.cli import cli
from portal.budgeting.models import BudgetCycle
from portal.extensions import db


@cli.command("verify")
@click.argument("cycle_id", type=int)
def verify_command(cycle_id):
    """Check CYCLE_ID's ballots against its ledger and published results."""
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None:
        click.echo(f"Error: there is no budget cycle {cycle_id}.", err=True)
        sys.exit(2)
    secret = current_app.config.get("BUDGET_RECEIPT_SECRET") or current_app.config["SECRET_KEY"]
    problem = integrity.verify_cycle(db.session, cycle, secret=secret)
    if problem is not None:
        click.echo(f"MISMATCH in cycle {cycle.id}: {problem}", err=True)
        sys.exit(1)
    size, root, _frozen = integrity.head_of(db.session, cycle)
    click.echo(f"Cycle {cycle.id}: ballots, ledger (size {size}, root {root}) and results agree.")
