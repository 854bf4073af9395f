"""Budgeting commands that use the database, added to the `flask budgeting` group:

    flask budgeting cycles                       list cycles with their phase
    flask budgeting compute-results CYCLE_ID     tally a closed vote (greedy and MES)
    flask budgeting publish-results CYCLE_ID     publish the computed result of the cycle's rule
    flask budgeting import FILE.pb --region CODE [--as EMAIL]
                                                 a past vote from pabulib as a closed cycle
    flask budgeting export CYCLE_ID --format pb [-o OUT.pb]
                                                 a cycle as a pabulib file (stdout without -o)

Results can take long with MES on large budgets, so operators may run them here instead of
from the web page. Each command commits once.

``import`` prints the new cycle's id as the only line on stdout (everything for people goes
to stderr), so scripts can do ``ID=$(flask budgeting import ...)``. ``import`` and
``export`` show a progress bar on stderr when it is a terminal, and nothing when piped. Bad
input (missing or malformed file, a non-approval file, fractional money, unknown region,
cycle or format) exits with code 2 and a one-line message on stderr; nothing is written.
"""

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select

from portal.accounts.models import User
from portal.budgeting import interchange, pabulib, services
from portal.budgeting.cli import cli
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.jobs import compute_and_store
from portal.budgeting.models import BudgetCycle
from portal.extensions import db
from portal.regions.services import region_by_code

EXPORT_FORMATS = ("pb",)


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
@click.option(
    "--deadline", type=float, default=None, help="Give up (store nothing) after this many seconds."
)
def compute_results_command(cycle_id, email, rules, deadline):
    """Tally a closed vote and store the (unpublished) results.

    Runs here, synchronously, like the web's background job: ballots are read in a snapshot
    and only storing takes the write lock. A rule is never swapped for another."""
    actor_id, cycle_id = _actor(email).id, _cycle(cycle_id).id
    try:
        results = compute_and_store(
            db.session, actor_id, cycle_id, rules=list(rules) or None, deadline=deadline
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


# ------------------------------------------------------------------ pabulib interchange
def _fail(message):
    """Undo anything flushed, say why on stderr and exit with code 2 (bad input)."""
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


@contextmanager
def _progress(length, label):
    """`step(n)` advances a bar on stderr if it is a terminal; otherwise it does nothing."""
    if length <= 0 or not sys.stderr.isatty():
        yield lambda _n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@cli.command("import")
@click.argument("path", metavar="FILE.pb", type=click.Path(dir_okay=False))
@click.option("--region", "region_code", required=True, help="Region code, e.g. KZ-75.")
@click.option("--as", "email", default=None, help="E-mail of the staff member (optional).")
def import_command(path, region_code, email):
    """Import a past approval vote from a pabulib FILE.pb as a closed budget cycle."""
    region = region_by_code(db.session, region_code.strip().upper())
    if region is None:
        _fail(f"unknown region {region_code!r} (use a code such as KZ-75)")
    actor = None
    if email:
        actor = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if actor is None:
            _fail(f"no account with e-mail {email}")
    try:
        parsed = pabulib.load(path)
    except pabulib.PabulibError as exc:
        _fail(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}")
    notes = []
    try:
        with _progress(len(parsed.votes), "storing ballots") as step:
            cycle = interchange.import_pabulib(
                db.session,
                parsed,
                region,
                actor,
                source=f"pabulib: {Path(path).name}",
                progress=step,
                notes=notes,
            )
    except pabulib.PabulibError as exc:
        _fail(f"{path}: {exc}")
    db.session.commit()
    click.echo(f"Imported {path} as closed cycle {cycle.id} in {region.code}", err=True)
    for note in notes:
        click.echo(f"  {note}", err=True)
    click.echo(cycle.id)


@cli.command("export")
@click.argument("cycle_id", type=int)
@click.option(
    "--format", "fmt", default="pb", show_default=True, help="One of: " + ", ".join(EXPORT_FORMATS)
)
@click.option("-o", "--output", default="-", metavar="OUT.pb", help="File to write; '-' is stdout.")
def export_command(cycle_id, fmt, output):
    """Write budget cycle CYCLE_ID (projects, costs, budget, ballots) as a pabulib file."""
    if fmt not in EXPORT_FORMATS:
        _fail(f"unknown format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None:
        _fail(f"no budget cycle {cycle_id}")
    if not cycle.voting_closed():
        _fail(
            f"cycle {cycle_id} is still in phase {cycle.phase()!r}: "
            "ballots stay secret until voting closes"
        )
    with _progress(interchange.ballot_count(db.session, cycle), "reading ballots") as step:
        exported = interchange.export_pabulib(db.session, cycle, progress=step)
    text = pabulib.dumps(exported)
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        _write_atomically(Path(output), text)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(
        f"Wrote cycle {cycle.id} to {output}: {len(exported.projects)} projects, "
        f"{len(exported.votes)} ballots",
        err=True,
    )


def _write_atomically(path, text):
    """Write next to `path`, then rename: a failed export never leaves half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
