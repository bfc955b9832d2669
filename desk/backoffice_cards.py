"""The desk's ID card page: print the cards of a person, a household or a village's new cards."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from conversations.i18n import N_, Translator
from desk.i18n import desk_language, t
from desk.views import AUDIT_ACTIONS, add_nav_link
from registry.cards import CardLabels, cards_pdf, issue_cards
from registry.errors import NotFound


def add_card_pages(blueprint: Blueprint) -> None:
    """Add the ID card page to the desk's blueprint and its link to the navigation."""
    add_nav_link("desk.cards", N_("ID cards"))
    AUDIT_ACTIONS.setdefault("print_cards", N_("Printed ID cards"))
    blueprint.add_url_rule("/cards", "cards", login_required(cards_page), methods=["GET"])
    blueprint.add_url_rule("/cards.pdf", "cards_pdf", login_required(print_cards), methods=["POST"])


def cards_page() -> str:
    """The form that prints cards."""
    return render_template("desk/cards.html")


def print_cards() -> Response | BaseResponse:
    """Print the cards asked for, scoped to my area, and send the PDF (a POST: printing is recorded)."""
    janela = current_app.extensions["janela"]
    language = desk_language()
    what: dict[str, Any] = {}
    sp_id = request.form.get("sp_id", "").replace(" ", "")[:16]
    household = request.form.get("household", "").strip()[:12]
    village = request.form.get("village", "").strip()[:20]
    if sp_id:
        what["sp_id"] = sp_id
    elif household.isdigit():
        what["household_id"] = int(household)
    elif village:
        what["village_code"] = village
    else:
        flash(t("Give an ID, a household number or a village code."), "error")
        return redirect(url_for("desk.cards"))
    try:
        cards = issue_cards(janela.db, current_user.actor, language, **what)
    except NotFound:
        flash(t("Nobody with a social-protection ID found in your area."), "error")
        return redirect(url_for("desk.cards"))
    if not cards:
        flash(t("Every card of this village was printed already."), "ok")
        return redirect(url_for("desk.cards"))
    pdf = cards_pdf(cards, CardLabels().translated(Translator(language)))
    name = "-".join(f"{key}-{value}" for key, value in what.items()).replace("_", "")
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="cards-{name}.pdf"',
            "Cache-Control": "no-store",
        },
    )
