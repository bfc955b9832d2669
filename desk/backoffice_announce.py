"""The desk's announcements: choose who and where, see the count and the cost, send once, watch reports."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from conversations.i18n import N_
from desk.i18n import desk_language, t
from desk.views import AUDIT_ACTIONS, add_nav_link
from registry.announcement_places import VillageChoice, chosen_codes, villages_to_choose
from registry.announcements import (
    AUDIENCES,
    LANGUAGES,
    Counts,
    Draft,
    announcement_counts,
    list_announcements,
    preview_announcement,
    send_announcement,
)
from registry.errors import InvalidData, NotFound, Problem
from registry.idempotency import request_key

PROBLEMS = {
    "choose chiefs or households": N_("Choose the village chiefs or the households."),
    "write the announcement in at least one language": N_("Write the announcement in at least one language."),
}


def add_announce_pages(blueprint: Blueprint) -> None:
    """Add the announcement pages to the desk's blueprint and their link to the navigation."""
    add_nav_link("desk.announce", N_("Announcements"))
    AUDIT_ACTIONS.setdefault("announce", N_("Sent an announcement"))
    # POST: the same form shown again with what was written (another area's villages, or a change).
    blueprint.add_url_rule("/announce", "announce", login_required(compose), methods=["GET", "POST"])
    blueprint.add_url_rule("/announce/preview", "announce_preview", login_required(preview), methods=["POST"])
    blueprint.add_url_rule("/announce/send", "announce_send", login_required(send), methods=["POST"])
    blueprint.add_url_rule(
        "/announcements/<int:announcement_id>", "announcement", login_required(show), methods=["GET"]
    )


def _draft() -> Draft:
    form = request.form
    texts = {lang: form.get(f"text_{lang}", "").strip()[:800] for lang in LANGUAGES}
    ticked = [code.strip()[:20] for code in form.getlist("village")]
    return Draft(
        form.get("area", "").strip()[:20],
        form.get("audience", "") if form.get("audience") in AUDIENCES else "",
        {lang: text for lang, text in texts.items() if text},
        form.get("programme", "").strip()[:40] or None,
        # No village ticked is the area form; the registry refuses a code and ticks together.
        chosen_codes(ticked) if ticked else None,
    )


def _flash_problems(exc: InvalidData) -> None:
    for problem in exc.problems:
        if isinstance(problem, Problem):
            flash(t(problem.template, **problem.values), "error")
        else:
            flash(t(PROBLEMS[problem]) if problem in PROBLEMS else problem, "error")


def _choice(area_code: str | None) -> VillageChoice:
    """The villages to tick: of the area asked for, else of the officer's own area."""
    janela = current_app.extensions["janela"]
    actor = current_user.actor
    try:
        return villages_to_choose(janela.db, actor, desk_language(), area_code)
    except NotFound:
        flash(t("No area with this code in your area."), "error")
        return villages_to_choose(janela.db, actor, desk_language())


def _compose_page(draft: Draft | None, sent: list[Counts]) -> str:
    choice = _choice(request.values.get("villages_of", "").strip()[:20] or None)
    ticked = set(draft.village_codes or ()) if draft else set()
    listed = {village.code for group in choice.groups for village in group.villages}
    return render_template(
        "desk/announce.html",
        draft=draft,
        sent=sent,
        choice=choice,
        ticked=ticked,
        # Ticked in another area's list: kept on the page, so showing other villages loses none.
        ticked_elsewhere=sorted(ticked - listed),
    )


def compose() -> str:
    """The form to write an announcement and choose its villages, and the latest ones with their counts."""
    if request.method == "POST":
        return _compose_page(_draft(), [])
    janela = current_app.extensions["janela"]
    sent = list_announcements(janela.db, current_user.actor, language=desk_language())
    return _compose_page(None, sent)


def preview() -> str | BaseResponse:
    """Show who the announcement reaches and what it costs, with the button that sends it."""
    janela = current_app.extensions["janela"]
    draft = _draft()
    try:
        shown = preview_announcement(
            janela.db,
            current_user.actor,
            draft,
            janela.settings.sms_policy,
            janela.settings.default_language,
            desk_language(),
        )
    except InvalidData as exc:
        _flash_problems(exc)
        return _compose_page(draft, [])
    except NotFound:
        if draft.village_codes is None:
            flash(t("No area with this code in your area."), "error")
        else:
            flash(t("A village you chose is not in your area: nothing was counted or sent."), "error")
        return _compose_page(draft, [])
    # One token per preview: the send it carries is made once, however often it is posted.
    return render_template(
        "desk/announce_preview.html", draft=draft, preview=shown, form_token=secrets.token_urlsafe(16)
    )


def send() -> BaseResponse:
    """Send the previewed announcement once, and show its counts; a place outside the area is a 404."""
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
    janela = current_app.extensions["janela"]
    counts = announcement_counts(janela.db, current_user.actor, announcement_id, desk_language())
    return render_template("desk/announce_counts.html", counts=counts)
