from flask.cli import AppGroup

cli = AppGroup("exports", help="Exports.")
