"""Budgeting commands that use the database, added to the `flask budgeting` group:

    flask budgeting cycles                       list cycles with their phase
    flask budgeting compute-results CYCLE_ID     tally a closed vote (greedy and MES)
    flask budgeting publish-results CYCLE_ID     publish the computed result of the cycle's rule

Results can take long with MES on large budgets, so operators may run them here instead of
from the web page. Each command commits once.
"""

import click
from sqlalchemy import select

from portal.accounts.models import User
from portal.budgeting import services
from portal.budgeting.cli import cli
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import BudgetCycle
from portal.extensions import db


def _actor(email):
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account with e-mail {email}")
    return user


def _cycle(cycle_id):
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None:
        raise click.ClickException(f"no budget cycle {cycle_id}")
    return cycle


@cli.command("cycles")
def cycles_command():
    """List budget cycles with their region and current phase."""
    for cycle in db.session.scalars(select(BudgetCycle).order_by(BudgetCycle.id)):
        click.echo(f"{cycle.id:>5}  {cycle.region.code:<6} {cycle.phase():<15} {cycle.title_en}")


@cli.command("compute-results")
@click.argument("cycle_id", type=int)
@click.option("--as", "email", required=True, help="E-mail of the staff member or admin.")
@click.option("--rule", "rules", multiple=True, type=click.Choice(["greedy", "mes"]))
@click.option("--deadline", type=float, default=None, help="Seconds before MES falls back.")
def compute_results_command(cycle_id, email, rules, deadline):
    """Tally a closed vote and store the (unpublished) results."""
    try:
        results = services.compute_results(
            db.session,
            _actor(email),
            _cycle(cycle_id),
            rules=list(rules) or None,
            deadline=deadline,
        )
    except BudgetRuleError as error:
        raise click.ClickException(error.code) from None
    db.session.commit()
    for result in results:
        click.echo(f"{result.rule}: {result.data['selected']} total {result.total_cost}")


@cli.command("publish-results")
@click.argument("cycle_id", type=int)
@click.option("--as", "email", required=True, help="E-mail of the staff member or admin.")
def publish_results_command(cycle_id, email):
    """Publish the computed result of the cycle's winner rule."""
    try:
        result = services.publish_results(db.session, _actor(email), _cycle(cycle_id))
    except BudgetRuleError as error:
        raise click.ClickException(error.code) from None
    db.session.commit()
    click.echo(f"published {result.rule}: {result.data['selected']}")
