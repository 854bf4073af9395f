"""The floor for a signed-in vote in this portal: the portal's own app (wsgi:app, every
extension and hook as served) with one more route that does only what any vote of a
signed-in resident must: the session cookie, the resident's row (Flask-Login, one
plain row as the ballot POST reads it), the CSRF
check, the rate limiter, the access line, then one INSERT, one COMMIT and a redirect.

No phase, no budget, no choices, no ledger: the difference to a ballot POST is the ballot's
own work, the difference to bench/floor_app.py is the web framework's. Served by the same
gunicorn command as both (`--pythonpath bench auth_floor_app:app`); bench/voting_load.py
uses it with BENCH_AUTH_FLOOR=1. Bench only: never imported by the portal.
"""

import sys
from pathlib import Path

from flask import redirect
from flask_login import current_user, login_required

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floor_app import floor_vote  # noqa: E402  (creates the floor's table)

from portal.accounts.models import plain_user  # noqa: E402
from portal.extensions import db  # noqa: E402
from wsgi import app  # noqa: E402

PATH = "/bench/vote"


@plain_user  # the resident as one plain row, as the ballot POST reads them
@login_required
def vote():
    db.session.execute(floor_vote.insert().values(voter=current_user.id, payload="vote"))
    db.session.commit()
    return redirect("/budget/receipt")


app.add_url_rule(PATH, "bench_vote", vote, methods=["POST"])
with app.app_context():
    floor_vote.metadata.create_all(db.engine, checkfirst=True)
