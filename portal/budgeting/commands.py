"""Budgeting commands that use the database, added to the `flask budgeting` group:

    flask budgeting cycles                       list cycles with their phase
    flask budgeting compute-results CYCLE_ID     tally a closed vote (greedy and MES)
    flask budgeting publish-results CYCLE_ID     publish the computed result of the cycle's rule
    flask budgeting import FILE.pb [FILE.pb ...] --region CODE [--as EMAIL]
                                                 a past vote from pabulib as a closed cycle,
                                                 one heading per file
    flask budgeting headings CYCLE_ID [--json]   a cycle's headings (pots) with their counts
    flask budgeting export CYCLE_ID --format pb [--heading NAME] [-o OUT.pb]
                                                 a cycle (or one heading) as a pabulib file
                                                 (stdout without -o); a cycle of several
                                                 headings without --heading: a zip of one
                                                 .pb per heading
    flask budgeting ballot-writer [--socket PATH]
                                                 the machine's one ballot writer:
                                                 serves BALLOT_WRITER_SOCKET in the foreground

Results can take long with MES on large budgets, so operators may run them here instead of
from the web page. Each command commits once.

``import`` prints the new cycle's id as the only line on stdout (everything for people goes
to stderr), so scripts can do ``ID=$(flask budgeting import ...)``. ``import`` and
``export`` show a progress bar on stderr when it is a terminal, and nothing when piped. Bad
input (missing or malformed file, a non-approval file, fractional money, unknown region,
cycle or format) exits with code 2 and a one-line message on stderr; nothing is written.
"""

import io
import json
import os
import re
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select

from portal.accounts.models import User
from portal.budgeting import headings, interchange, pabulib, publishing, services
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
    several = len({result.heading_id for result in results}) > 1
    for result in results:
        where = f"{result.heading.name}: " if several else ""
        click.echo(f"{where}{result.rule}: {result.data['selected']} total {result.total_cost}")


@cli.command("publish-results")
@click.argument("cycle_id", type=int)
@click.option("--as", "email", required=True, help="E-mail of the staff member or admin.")
@click.option("--reason", default="", help="Public reason; required for a correction.")
@click.option("--heading", "heading_name", default=None, help="Only this heading (by name).")
def publish_results_command(cycle_id, email, reason, heading_name):
    """Publish the computed result of the winner rule of every heading (or of one); a new
    version corrects."""
    actor, cycle = _actor(email), _cycle(cycle_id)
    pots = headings.headings_of(db.session, cycle)
    if heading_name is not None:
        pots = [h for h in pots if h.name == heading_name.strip()]
        if not pots:
            raise click.ClickException(f"cycle {cycle_id} has no heading {heading_name!r}")
    published = []
    try:
        for heading in pots:
            published.append(
                publishing.publish_results(db.session, actor, cycle, reason=reason, heading=heading)
            )
    except BudgetRuleError as error:
        raise click.ClickException(error.code) from None
    db.session.commit()
    for result in published:
        where = f"{result.heading.name}: " if len(published) > 1 else ""
        click.echo(f"{where}published {result.rule} v{result.version}: {result.data['selected']}")


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
@click.argument(
    "paths",
    metavar="FILE.pb [FILE.pb ...]",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False),
)
@click.option("--region", "region_code", required=True, help="Region code, e.g. KZ-75.")
@click.option("--as", "email", default=None, help="E-mail of the staff member (optional).")
def import_command(paths, region_code, email):
    """Import past approval votes from pabulib files as one closed budget cycle, one heading
    per file (named from its META subunit, district or unit)."""
    region = region_by_code(db.session, region_code.strip().upper())
    if region is None:
        _fail(f"unknown region {region_code!r} (use a code such as KZ-75)")
    actor = None
    if email:
        actor = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if actor is None:
            _fail(f"no account with e-mail {email}")
    files = []
    for path in paths:
        try:
            files.append((path, pabulib.load(path)))
        except pabulib.PabulibError as exc:
            _fail(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}")
    notes = []
    names = " + ".join(Path(path).name for path in paths)
    try:
        with _progress(sum(len(pb.votes) for _path, pb in files), "storing ballots") as step:
            if len(files) == 1:
                cycle = interchange.import_pabulib(
                    db.session,
                    files[0][1],
                    region,
                    actor,
                    source=f"pabulib: {names}",
                    progress=step,
                    notes=notes,
                )
            else:
                cycle = interchange.import_headings(
                    db.session,
                    files,
                    region,
                    actor,
                    source=f"pabulib: {names}",
                    progress=step,
                    notes=notes,
                )
    except pabulib.PabulibError as exc:
        _fail(f"{paths[0]}: {exc}" if len(paths) == 1 else str(exc))
    db.session.commit()
    what = f"{', '.join(paths)} ({len(paths)} headings)" if len(paths) > 1 else paths[0]
    click.echo(f"Imported {what} as closed cycle {cycle.id} in {region.code}", err=True)
    for note in notes:
        click.echo(f"  {note}", err=True)
    click.echo(cycle.id)


@cli.command("headings")
@click.argument("cycle_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list instead of text.")
def headings_command(cycle_id, as_json):
    """List the headings (pots) of budget cycle CYCLE_ID with their projects and ballots."""
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None:
        _fail(f"no budget cycle {cycle_id}")
    rows = headings.summary(db.session, cycle)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(
            f"{row['budget']:>14}  {row['projects']:>5} projects  {row['ballots']:>7} ballots  "
            f"{row['winner_rule']:<6}  {row['name']}"
        )


@cli.command("export")
@click.argument("cycle_id", type=int)
@click.option(
    "--format", "fmt", default="pb", show_default=True, help="One of: " + ", ".join(EXPORT_FORMATS)
)
@click.option("--heading", "heading_name", default=None, help="Write only the heading NAME.")
@click.option("-o", "--output", default="-", metavar="OUT.pb", help="File to write; '-' is stdout.")
def export_command(cycle_id, fmt, heading_name, output):
    """Write budget cycle CYCLE_ID (projects, costs, budget, ballots) as a pabulib file; a
    cycle of several headings as a zip of one file per heading unless --heading names one."""
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
    pots = headings.headings_of(db.session, cycle)
    if heading_name is not None:
        chosen = headings.by_name(db.session, cycle, heading_name)
        if chosen is None:
            known = ", ".join(repr(h.name) for h in pots)
            _fail(f"cycle {cycle_id} has no heading {heading_name!r}; its headings: {known}")
        pots = [chosen]
    total = sum(interchange.ballot_count(db.session, cycle, h) for h in pots)
    files = []
    with _progress(total, "reading ballots") as step:
        for heading in pots:
            exported = interchange.export_pabulib(db.session, cycle, progress=step, heading=heading)
            files.append((heading, exported, pabulib.dumps(exported)))
    if len(files) == 1:
        _heading, exported, text = files[0]
        data = text.encode("utf-8")
        summary = f"{len(exported.projects)} projects, {len(exported.votes)} ballots"
    else:
        data = _zip(files)
        summary = f"{len(files)} headings in a zip"
    if output == "-":
        if len(files) == 1:
            click.echo(files[0][2], nl=False)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        return
    try:
        _write_atomically(Path(output), data)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"Wrote cycle {cycle.id} to {output}: {summary}", err=True)


def _zip(files):
    """One .pb per heading, named after it (made safe for file systems and unique)."""
    buffer, used = io.BytesIO(), set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for heading, _exported, text in files:
            stem = re.sub(r"[^\w.-]+", "_", heading.name).strip("._") or f"heading_{heading.id}"
            name = f"{stem}.pb"
            if name in used:
                name = f"{stem}_{heading.id}.pb"
            used.add(name)
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def _write_atomically(path, data):
    """Write next to `path`, then rename: a failed export never leaves half a file."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@cli.command("announce-voting")
def announce_voting_command():
    """Notify residents of cycles whose voting opened by date (run daily, e.g. from cron)."""
    cycles = services.announce_voting(db.session)
    db.session.commit()
    click.echo(f"Announced voting in {len(cycles)} cycle(s).")


@cli.command("ballot-writer")
@click.option("--socket", "path", default=None, help="Unix socket (default BALLOT_WRITER_SOCKET).")
def ballot_writer_command(path):
    """Write every worker's ballots on this machine, until stopped (SIGTERM)."""
    from flask import current_app

    from portal import group_commit
    from portal.budgeting import ballots

    path = path or current_app.config["BALLOT_WRITER_SOCKET"]
    if not path:
        raise click.UsageError("give --socket PATH or set BALLOT_WRITER_SOCKET")
    click.echo(f"Writing ballots sent to {path} (Ctrl+C to stop).", err=True)
    try:
        group_commit.serve(path, ballots.write_ballots)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
