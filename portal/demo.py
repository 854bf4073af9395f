"""`flask demo load`: demo data a newcomer can click through; safe to run again.

Each capability adds its own demo loader to LOADERS; they run in order after the accounts.
"""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import User, iin_key
from portal.extensions import db
from portal.regions.models import District
from portal.regions.services import load_regions, region_by_code

cli = AppGroup("demo", help="Demo data.")

PASSWORD = "tynda-demo-2026"
# Valid IINs from public examples; never real people's accounts.
ACCOUNTS = (
    ("resident@demo.tynda.kz", "Айгерім Сапарова", "871008401427", "resident", "bostandyk"),
    ("moderator@demo.tynda.kz", "Ерлан Жұмабаев", "760212350620", "moderator", "almaly"),
    ("staff@demo.tynda.kz", "Данияр Омаров", "800416300257", "staff", "medeu"),
    ("admin@demo.tynda.kz", "Мадина Ахметова", "061211600012", "admin", "auezov"),
)
LOADERS = []


def _load_consultations(session):
    from portal.consultations.demo import load_consultations

    load_consultations(session)


LOADERS.append(_load_consultations)


def _load_budgeting(session):
    from portal.budgeting.demo import load_budgeting

    load_budgeting(session)


LOADERS.append(_load_budgeting)


def load_accounts(session):
    """Create the demo accounts in Almaty (one per role) if they are missing."""
    almaty = region_by_code(session, "KZ-75")
    created = []
    for email, name, iin, role, district_slug in ACCOUNTS:
        if session.scalar(select(User).where(User.email == email)):
            continue
        district = session.scalar(
            select(District).where(District.region_id == almaty.id, District.slug == district_slug)
        )
        user = services.register(
            session,
            full_name=name,
            iin=iin,
            email=email,
            phone="+77010000000",
            password=PASSWORD,
            region=almaty,
            district=district,
            key=iin_key(),
        )
        services.mark_verified(user, almaty.id, "staff")
        if role != "resident":
            services.grant_role(session, user, role, almaty if role != "admin" else None)
        created.append(email)
    session.flush()
    return created


def load_all(session):
    """Everything `flask demo load` loads, flushed but not committed."""
    load_regions(session)
    load_accounts(session)
    for loader in LOADERS:
        loader(session)
    session.flush()


@cli.command("load")
@click.option(
    "--scale",
    type=click.Choice(["city", "small"]),
    default=None,
    help="Also load a city's worth of data: 10,000 proposals, 200,000 ballots, "
    "100,000 comments (city), or the same shapes with ~100 rows (small).",
)
def load_command(scale):
    """Load regions, demo accounts and every capability's demo data (idempotent)."""
    load_all(db.session)
    db.session.commit()
    click.echo(f"Demo data is loaded. Demo accounts (password: {PASSWORD}):")
    for email, _name, _iin, role, _district in ACCOUNTS:
        click.echo(f"  {role:<10} {email}")
    if scale:
        _load_scale(scale)


def _load_scale(name):
    import time

    from portal import demo_city

    scale = demo_city.SCALES[name]
    if all(demo_city.find(db.session, scale)):
        click.echo(f"The {name}-scale data is already loaded; nothing to do.")
        return
    staff = db.session.scalar(select(User).where(User.email == ACCOUNTS[2][0]))
    started = time.monotonic()
    try:
        demo_city.load_scale(db.session, scale, staff, echo=click.echo)
    except RuntimeError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"The {name}-scale data is loaded in {time.monotonic() - started:.0f} s.")
