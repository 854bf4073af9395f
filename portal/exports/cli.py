"""``flask exports ...``: export a budget cycle or a consultation to a file.

    flask --app wsgi exports cycle CYCLE_ID --format csv|xlsx|json|sqlite|pb -o PATH
    flask --app wsgi exports consultation DRAFT_ID --format csv|xlsx|json|sqlite -o PATH

CSV holds one table: ``--part`` (cycles: tally, ballots, proposals; drafts: comments,
summary, articles). ``--lang`` picks the language of headers and titles (default en).
A progress bar is drawn on stderr only when stderr is a terminal. Bad input (unknown
cycle, format or table; a cycle still in voting) exits with code 2, a one-line message on
stderr, and writes nothing: the file is written next to PATH and renamed when complete.
Every export is recorded in the export log (via "cli").

    flask --app wsgi exports prune [--days 7]

deletes the files that staff exports (background jobs) left in storage more than DAYS ago.
"""

import datetime as dt
import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from portal.accounts.models import utcnow
from portal.exports import forms, jobs, services
from portal.extensions import db
from portal.storage import get_storage

cli = AppGroup("exports", help="Export budget cycles and consultations (no personal data).")

LANGS = ("kk", "ru", "en")


def _fail(message):
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _run(subject, subject_id, fmt, part, path, lang):
    with force_locale(lang):
        try:
            fmt, part = services.check_request(subject, fmt, part)
            if subject == "cycle":
                obj = services.cycle_for_export(db.session, None, subject_id)
            else:
                obj = services.draft_for_export(db.session, None, subject_id)
        except services.ExportError as error:
            _fail(forms.message(error))
        labels, titles = forms.headers(), forms.sheet_titles()
        values = forms.value_labels()
    target = Path(path)
    if target.is_dir():
        _fail(f"{path} is a directory; give a file name")
    partial = target.with_name(f".{target.name}.part")
    show = sys.stderr.isatty()
    total = services.row_total(db.session, subject, obj, fmt, part) if show else 0
    model, obj_id = type(obj), obj.id
    db.session.rollback()  # nothing written yet: end the checks' transaction (and lock)
    try:
        with open(partial, "wb") as out, services.reading_session(db.session.get_bind()) as reader:
            obj = reader.get(model, obj_id)
            if show:
                with click.progressbar(length=total, label="rows", file=sys.stderr) as bar:
                    chunks = services.build(
                        reader, subject, obj, fmt, part, lang=lang, labels=labels,
                        sheet_titles=titles, progress=bar.update, value_labels=values,
                    )  # fmt: skip
                    for chunk in chunks:
                        out.write(chunk)
            else:
                chunks = services.build(
                    reader, subject, obj, fmt, part, lang=lang, labels=labels,
                    sheet_titles=titles, value_labels=values,
                )  # fmt: skip
                for chunk in chunks:
                    out.write(chunk)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        _fail(f"{path}: {error.strerror or error}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    services.record_export(db.session, None, subject, obj, fmt, part, target.name[:120], via="cli")
    db.session.commit()
    click.echo(f"{target} ({target.stat().st_size} bytes)", err=not sys.stdout.isatty())


def _options(formats_):
    def decorate(command):
        command = click.option(
            "--lang", type=click.Choice(LANGS), default="en", help="Language of headers."
        )(command)
        command = click.option(
            "--part", default=None, help="CSV only: which table (default: the first)."
        )(command)
        command = click.option(
            "-o", "--output", "path", required=True, type=click.Path(dir_okay=False)
        )(command)
        return click.option(
            "--format", "fmt", required=True, help=f"One of: {', '.join(formats_)}."
        )(command)

    return decorate


@cli.command("cycle")
@click.argument("cycle_id", type=int)
@_options(services.CYCLE_FORMATS)
def cycle_command(cycle_id, fmt, path, part, lang):
    """Export budget cycle CYCLE_ID (tally, anonymised ballots, proposals)."""
    _run("cycle", cycle_id, fmt, part, path, lang)


@cli.command("consultation")
@click.argument("draft_id", type=int)
@_options(services.DRAFT_FORMATS)
def consultation_command(draft_id, fmt, path, part, lang):
    """Export draft DRAFT_ID (articles, comments with decisions, summary table)."""
    _run("draft", draft_id, fmt, part, path, lang)


@cli.command("prune")
@click.option("--days", default=7, show_default=True, type=click.IntRange(min=0))
def prune_command(days):
    """Delete files of staff exports finished more than DAYS days ago (run daily)."""
    pruned = jobs.prune(db.session, get_storage(), utcnow() - dt.timedelta(days=days))
    db.session.commit()
    click.echo(f"{pruned} export file(s) deleted")
