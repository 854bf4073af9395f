"""`flask backup create PATH` and `flask backup restore PATH`."""

import click
from flask.cli import AppGroup

from portal.backup import BackupError, create_backup, restore_backup
from portal.extensions import db
from portal.storage import get_storage

cli = AppGroup("backup", help="Back up or restore the database and the uploaded files.")


@cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False))
def create_command(path):
    """Write a backup (.tar.gz) of the database and uploads to PATH, while the site runs."""
    try:
        manifest = create_backup(db.engine, get_storage(), path)
    except BackupError as error:
        raise click.UsageError(str(error)) from None
    click.echo(
        f"Backup written to {path}: {manifest['dialect']} database at revision "
        f"{manifest['revision']}, {manifest['uploads']} uploaded files."
    )


@cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an instance that already holds data.")
def restore_command(path, force):
    """Restore the backup at PATH into this (empty) instance."""
    try:
        manifest = restore_backup(db.engine, get_storage(), path, force=force)
    except BackupError as error:
        raise click.UsageError(str(error)) from None
    click.echo(
        f"Restored {manifest['dialect']} database (revision {manifest['revision']}) and "
        f"{manifest['uploads']} uploaded files from {path}."
    )
