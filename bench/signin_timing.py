"""Sign-in timing: does a wrong password take as long for an unknown e-mail as for a known one?

    .venv/bin/python bench/signin_timing.py [--tries 15]

Production Argon2 parameters (argon2-cffi defaults), a temporary SQLite database with the real
migrations. Prints median milliseconds of `authenticate` with a wrong password for a known
and an unknown e-mail, next to the baseline (the old code path, which skipped Argon2 when the
e-mail was unknown: the same call minus the dummy-hash check). Issue 11 measured 158 ms
against 6 ms before.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=15)
    args = parser.parse_args()
    from flask_migrate import upgrade

    from portal import create_app
    from portal.accounts import services
    from portal.extensions import db
    from portal.regions.services import load_regions, region_by_code

    folder = tempfile.mkdtemp(prefix="tynda-bench-")
    app = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
            "ARGON2_PARAMS": {},
        }
    )
    with app.app_context():
        upgrade()
        load_regions(db.session)
        services.configure_hasher()  # production defaults
        services.register(
            db.session,
            full_name="Bench Person",
            iin="900101300077",
            email="known@example.kz",
            phone="+77011234567",
            password="a-long-password-1",
            region=region_by_code(db.session, "KZ-75"),
            district=None,
            key="bench",
        )
        db.session.commit()

        def timed(email, baseline=False):
            times = []
            for n in range(args.tries):
                start = time.perf_counter()
                if baseline:
                    check = services.check_login(
                        db.session, email, client=f"b{n}", window_seconds=900
                    )
                    if check.password_hash:  # the old code verified only known accounts
                        services.password_matches(check.password_hash, "wrong")
                else:
                    with contextlib.suppress(services.AccountError):
                        services.authenticate(
                            db.session,
                            email,
                            "wrong",
                            client=f"n{n}",
                            attempts=10**6,
                            window_seconds=900,
                        )
                times.append((time.perf_counter() - start) * 1000)
                db.session.rollback()
            return statistics.median(times)

        print(f"wrong password, median of {args.tries} (ms); shared, loaded 2-core machine")
        print(f"{'':10} {'known e-mail':>14} {'unknown e-mail':>15}")
        for label, baseline in (("baseline", True), ("now", False)):
            known = timed("known@example.kz", baseline)
            unknown = timed("nobody@example.kz", baseline)
            print(f"{label:10} {known:14.1f} {unknown:15.1f}")


if __name__ == "__main__":
    main()
