"""`flask accounts …`: role management from the command line."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import ROLES, User
from portal.extensions import db
from portal.regions.services import region_by_code

cli = AppGroup("accounts", help="User accounts and roles.")


@cli.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.option(
    "--region", "region_code", help="ISO code of the region, e.g. KZ-75 (moderator, staff)."
)
def grant_command(email, role, region_code):
    """Give the account with EMAIL the ROLE (moderator and staff need --region)."""
    user = db.session.scalar(select(User).where(User.email == services.normalise_email(email)))
    if user is None:
        raise click.UsageError(f"No account with the e-mail {email!r}.")
    region = None
    if region_code:
        region = region_by_code(db.session, region_code)
        if region is None:
            raise click.UsageError(f"Unknown region {region_code!r}; use an ISO code like KZ-75.")
    try:
        services.grant_role(db.session, user, role, region, via="cli")
    except services.AccountError as error:
        if error.code == "region_required":
            raise click.UsageError(f"The role {role!r} needs --region.") from None
        raise
    db.session.commit()
    where = f" in {region.code}" if user.scope_region_id else ""
    click.echo(f"{user.email} is now {role}{where}.")
