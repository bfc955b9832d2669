"""The desk's announcements: write, see the count and the cost, send once, watch the reports come in."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from conversations.i18n import N_
from desk.i18n import t
from desk.views import AUDIT_ACTIONS, add_nav_link
from registry.announcements import (
    AUDIENCES,
    LANGUAGES,
    Draft,
    announcement_counts,
    list_announcements,
    preview_announcement,
    send_announcement,
)
from registry.errors import InvalidData, NotFound
from registry.idempotency import request_key

PROBLEMS = {
    "choose chiefs or households": N_("Choose the village chiefs or the households."),
    "write the announcement in at least one language": N_("Write the announcement in at least one language."),
}


def add_announce_pages(blueprint: Blueprint) -> None:
    """Add the announcement pages to the desk's blueprint and their link to the navigation."""
    add_nav_link("desk.announce", N_("Announcements"))
    AUDIT_ACTIONS.setdefault("announce", N_("Sent an announcement"))
    blueprint.add_url_rule("/announce", "announce", login_required(compose), methods=["GET"])
    blueprint.add_url_rule("/announce/preview", "announce_preview", login_required(preview), methods=["POST"])
    blueprint.add_url_rule("/announce/send", "announce_send", login_required(send), methods=["POST"])
    blueprint.add_url_rule(
        "/announcements/<int:announcement_id>", "announcement", login_required(show), methods=["GET"]
    )


def _draft() -> Draft:
    form = request.form
    texts = {lang: form.get(f"text_{lang}", "").strip()[:800] for lang in LANGUAGES}
    return Draft(
        form.get("area", "").strip()[:20],
        form.get("audience", "") if form.get("audience") in AUDIENCES else "",
        {lang: text for lang, text in texts.items() if text},
        form.get("programme", "").strip()[:40] or None,
    )


def _flash_problems(exc: InvalidData) -> None:
    for problem in exc.problems:
        flash(t(PROBLEMS[problem]) if problem in PROBLEMS else problem, "error")


def compose() -> str:
    """The form to write an announcement, and the latest ones with their counts."""
    sent = list_announcements(current_app.extensions["janela"].db, current_user.actor)
    return render_template("desk/announce.html", draft=None, sent=sent)


def preview() -> str | BaseResponse:
    """Show who the announcement reaches and what it costs, with the button that sends it."""
    janela = current_app.extensions["janela"]
    draft = _draft()
    try:
        shown = preview_announcement(
            janela.db, current_user.actor, draft, janela.settings.sms_policy, janela.settings.default_language
        )
    except InvalidData as exc:
        _flash_problems(exc)
        return render_template("desk/announce.html", draft=draft, sent=[])
    except NotFound:
        flash(t("No area with this code in your area."), "error")
        return render_template("desk/announce.html", draft=draft, sent=[])
    # One token per preview: the send it carries is made once, however often it is posted.
    return render_template(
        "desk/announce_preview.html", draft=draft, preview=shown, form_token=secrets.token_urlsafe(16)
    )


def send() -> BaseResponse:
    """Send the previewed announcement once, and show its counts."""
    janela = current_app.extensions["janela"]
    actor = current_user.actor
    token = request.form.get("form_token", "")[:64] or secrets.token_urlsafe(16)
    try:
        sent = send_announcement(
            janela.db,
            actor,
            _draft(),
            request_key("announce", actor.phone, f"{actor.id}:{token}"),
            janela.settings.sms_policy,
            janela.settings.default_language,
            current_app.config["ANNOUNCE_RATE"],
        )
    except InvalidData as exc:
        _flash_problems(exc)
        return redirect(url_for("desk.announce"))
    if sent.created:
        flash(t("The announcement is on its way to {count} phones.", count=sent.recipients), "ok")
    else:
        flash(t("This announcement was sent already; nothing was sent again."), "ok")
    return redirect(url_for("desk.announcement", announcement_id=sent.announcement_id))


def show(announcement_id: int) -> str:
    """An announcement's delivered, failed and pending counts (the page refreshes itself)."""
    counts = announcement_counts(current_app.extensions["janela"].db, current_user.actor, announcement_id)
    return render_template("desk/announce_counts.html", counts=counts)
