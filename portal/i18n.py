"""Language selection: account setting, then the `lang` cookie, then Accept-Language."""

from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user

from portal.extensions import babel

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
COOKIE = "lang"


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = request.cookies.get(COOKIE)
    if chosen in languages:
        return chosen
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def current_language():
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def localized(obj, field, lang=None):
    """Return obj.<field>_<lang>, falling back to the other languages when it is empty."""
    lang = lang or current_language()
    order = [lang] + [code for code in ("kk", "ru", "en") if code != lang]
    for code in order:
        value = getattr(obj, f"{field}_{code}", None)
        if value:
            return value
    return ""


def init_app(app):
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES, current_language=current_language, localized=localized
    )
