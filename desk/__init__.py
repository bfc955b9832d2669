"""The web desk of commune, district, province and national staff: a blueprint served by the app.

Pages are server-rendered and light; every form carries a CSRF token; every read goes through a
registry service that takes the signed-in staff member and scopes by their area.
"""

from __future__ import annotations

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager

from desk.backoffice_announce import add_announce_pages
from desk.backoffice_cards import add_card_pages
from desk.backoffice_io import add_io_routes
from desk.backoffice_stats import add_stats_pages
from desk.i18n import install_jinja
from desk.protection import csrf
from desk.users import DeskUser, load_user
from desk.views import add_nav_link, blueprint

add_stats_pages(blueprint)
add_io_routes(blueprint, add_nav_link)  # the back office's consolidation pages
# The back office's pages join the blueprint once, when the desk is first imported.
add_card_pages(blueprint)
add_announce_pages(blueprint)


class _SessionOverHttps(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the page was served over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        current: Request | None = request if request else None
        return bool(app.config["SESSION_COOKIE_SECURE"]) or bool(current and current.is_secure)


def init_desk(app: Flask) -> None:
    """Attach the desk to app: sign-in, CSRF on the desk's forms, cookies, pages."""
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # The webhooks are authenticated by their token, not by a browser session: only desk pages
    # check CSRF (the blueprint calls csrf.protect() before each of its POSTs).
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.session_interface = _SessionOverHttps()
    csrf.init_app(app)
    login = LoginManager()
    login.login_view = "desk.sign_in"
    login.login_message = ""
    login.session_protection = "strong"
    login.user_loader(load_user)
    login.init_app(app)
    install_jinja(app)
    app.register_blueprint(blueprint)


__all__ = ["DeskUser", "csrf", "init_desk"]
