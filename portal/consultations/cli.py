"""`flask consultations …`: close discussions whose period has ended, list overdue answers."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.consultations import services
from portal.consultations.models import Draft
from portal.extensions import db

cli = AppGroup("consultations", help="Draft-law consultations.")


@cli.command("close-expired")
def close_expired_command():
    """Close every open draft whose discussion period has ended (run it daily)."""
    now = services.now_utc()
    drafts = db.session.scalars(
        select(Draft).where(Draft.status == "open", Draft.period_end <= now)
    ).all()
    for draft in drafts:
        draft.status = "closed"
        draft.closed_at = draft.period_end
        draft.answer_due = services.naive(
            services.calendar.answer_deadline(services.aware(draft.period_end))
        )
    db.session.commit()
    click.echo(f"Closed {len(drafts)} draft(s).")


@cli.command("overdue")
def overdue_command():
    """List published comments whose answer deadline has passed."""
    comments = services.overdue_comments(db.session, limit=10_000)
    for comment in comments:
        click.echo(
            f"draft {comment.draft_id}\tcomment {comment.id}\tdue {comment.draft.answer_due}"
        )
    click.echo(f"{len(comments)} overdue comment(s).")


@cli.command("remind-staff")
def remind_staff_command():
    """Tell staff about answers due within 3 working days and overdue ones (run daily)."""
    made = services.remind_staff(db.session)
    db.session.commit()
    click.echo(f"{made} reminder(s) sent.")
