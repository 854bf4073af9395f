"""WSGI entry point: `flask --app wsgi …` and `gunicorn wsgi:app`.

TYNDA_ENV picks the configuration (development, production); production needs SECRET_KEY.
"""

import os

from portal import create_app

app = create_app(os.environ.get("TYNDA_ENV", "development"))
