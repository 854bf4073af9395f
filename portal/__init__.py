"""Tynda: participatory budgeting and citizen feedback for Kazakhstan.

`create_app` builds the Flask application: it registers the extensions, the blueprints of
every capability package and their CLI groups explicitly, so the wiring is readable here.
"""

from pathlib import Path

from flask import Flask

from config import CONFIGS, INSTANCE_DIR


def create_app(config="development"):
    """Create the application from a config name, a config class or a dict of overrides."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(Path(__file__).parent.parent / "templates"),
        static_folder=str(Path(__file__).parent.parent / "static"),
    )
    overrides = {}
    if isinstance(config, dict):
        overrides, config = config, config.get("CONFIG", "testing")
    config_class = CONFIGS[config] if isinstance(config, str) else config
    if hasattr(config_class, "check"):
        config_class.check()
    app.config.from_object(config_class)
    app.config.update(overrides)
    _trust_proxies(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _register_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _trust_proxies(app):
    """Behind TRUSTED_PROXIES reverse proxies, take the client address and scheme from them."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _register_extensions(app):
    from portal import database, formatting, i18n, jobs, observability, security
    from portal.accounts.services import configure_hasher
    from portal.extensions import csrf, db, limiter, login_manager, migrate

    observability.init_app(app)
    db.init_app(app)
    database.init_app(app, db)
    jobs.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    security.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    configure_hasher(**app.config.get("ARGON2_PARAMS", {}))
    limiter.init_app(app)


def _register_blueprints(app):
    from portal import errors
    from portal.accounts import lifecycle as _lifecycle  # noqa: F401 (adds account pages)
    from portal.accounts import notices as _notices  # noqa: F401 (adds notification pages)
    from portal.accounts import oidc
    from portal.accounts.views import bp as accounts_bp
    from portal.audit.views import bp as audit_bp
    from portal.budgeting import paper_views as _paper_views  # noqa: F401 (adds paper desk pages)
    from portal.budgeting import results_views as _results_views  # noqa: F401 (adds results pages)
    from portal.budgeting.ledger_api import bp as budgeting_api_bp
    from portal.budgeting.views import bp as budgeting_bp
    from portal.consultations.views import bp as consultations_bp
    from portal.exports.api import bp as exports_api_bp
    from portal.exports.views import bp as exports_bp
    from portal.jobs.views import bp as jobs_bp
    from portal.main.views import bp as main_bp
    from portal.moderation.views import bp as moderation_bp

    app.register_blueprint(main_bp)
    oidc.init_app(app)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(budgeting_bp)
    app.register_blueprint(consultations_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(exports_api_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(budgeting_api_bp)
    errors.init_app(app)


def _register_cli(app):
    from portal import demo
    from portal.accounts.cli import cli as accounts_cli
    from portal.audit.cli import cli as audit_cli
    from portal.backup.cli import cli as backup_cli
    from portal.budgeting import commands as _budgeting_commands  # noqa: F401 (adds commands)
    from portal.budgeting import verify_commands as _verify  # noqa: F401 (adds `verify`)
    from portal.budgeting.cli import cli as budgeting_cli
    from portal.consultations.cli import cli as consultations_cli
    from portal.exports.cli import cli as exports_cli
    from portal.jobs.cli import cli as jobs_cli
    from portal.moderation.cli import cli as moderation_cli
    from portal.regions.cli import cli as regions_cli

    app.cli.add_command(accounts_cli)
    app.cli.add_command(regions_cli)
    app.cli.add_command(budgeting_cli)
    app.cli.add_command(consultations_cli)
    app.cli.add_command(moderation_cli)
    app.cli.add_command(exports_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(demo.cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_cli)
