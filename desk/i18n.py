"""The desk's language: the officer's remembered choice, and gettext in the templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Flask, current_app, g, session
from flask_login import current_user

from conversations.i18n import NATIVE_NAMES, Translator
from registry import services

# The first font family names Khmer script; the rest are what a laptop has anyway.
FONTS = {
    "km": '"Khmer OS System", "Khmer OS", "Noto Sans Khmer", "Noto Serif Khmer", sans-serif',
    "default": 'system-ui, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif',
}


def desk_language() -> str:
    """Return the language of the current page: the officer's choice, else the deployment's default."""
    if "desk_language" in g:
        return str(g.desk_language)
    languages = current_app.config["LANGUAGES"]
    language = session.get("language")
    if language not in languages and current_user.is_authenticated:
        language = services.get_language(current_app.extensions["janela"].db, current_user.actor.phone)
    if language not in languages:
        language = current_app.config["DEFAULT_LANGUAGE"]
    g.desk_language = language
    return str(language)


def remember_language(language: str) -> None:
    """Keep the officer's language in the session and, once signed in, for their phone."""
    session["language"] = language
    g.desk_language = language
    if current_user.is_authenticated:
        services.set_language(current_app.extensions["janela"].db, current_user.actor.phone, language)


def t(message: str, **values: Any) -> str:
    """Translate a desk message into the page's language."""
    return Translator(desk_language())(message, **values)


def desk_timezone() -> ZoneInfo:
    """Return the time zone the desk shows moments in: the deployment's one clock (TIMEZONE)."""
    return current_app.extensions["janela"].settings.zone


def when(value: datetime | None) -> str:
    """Format a moment for the page's language, on the deployment's clock."""
    if value is None:
        return ""
    return format_datetime(value, format="short", locale=desk_language(), tzinfo=desk_timezone())


def install_jinja(app: Flask) -> None:
    """Give templates t(), the language, the fonts and the date formats."""
    app.jinja_env.globals.update(t=t, when=when, native_names=NATIVE_NAMES)

    @app.context_processor
    def _language() -> dict[str, Any]:
        language = desk_language()
        return {"language": language, "font_stack": FONTS.get(language, FONTS["default"])}
