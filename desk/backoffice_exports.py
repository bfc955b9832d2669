"""The desk's exports: asked for on the consolidation page, built by a worker, listed, downloaded.

The web request only records what was asked (a row, its job enqueued after the commit) and
answers at once; "My exports" shows each one's status and, once done, a link that streams the
file's chunks from the database, so any web node serves it and no node holds it in memory.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from conversations.i18n import N_
from desk.i18n import desk_language, t
from desk.views import add_nav_link
from registry.errors import InvalidData, Problem
from registry.export_jobs import (
    ExportExpired,
    ExportNotReady,
    any_pending,
    ask_export,
    list_exports,
    open_export,
    read_chunks,
)
from registry.exports import SHEETS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REFRESH_SECONDS = 10  # while an export is waiting, the list reloads itself this often

STATUS_NAMES = {
    "queued": N_("Waiting"),
    "running": N_("Being built"),
    "done": N_("Ready"),
    "failed": N_("Failed"),
    "expired": N_("Expired"),
}


def _janela() -> Any:
    return current_app.extensions["janela"]


def _day(name: str) -> date | None:
    raw = request.form.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def add_export_routes(blueprint: Blueprint) -> None:
    """Add the export request, the "My exports" list and the download to the desk's blueprint."""
    add_nav_link("desk.exports", N_("My exports"))
    blueprint.add_url_rule("/io/export", "io_export", login_required(ask_for_export), methods=["POST"])
    blueprint.add_url_rule("/exports", "exports", login_required(my_exports), methods=["GET"])
    blueprint.add_url_rule(
        "/exports/<int:export_id>/file", "export_file", login_required(download_export), methods=["GET"]
    )


def ask_for_export() -> BaseResponse:
    """Queue an export of an area and period; the same one asked again while waiting is that one."""
    janela = _janela()
    fmt = request.form.get("format", "xlsx")
    try:
        asked = ask_export(
            janela.db,
            current_user.actor,
            request.form.get("area", "")[:20],
            country=janela.settings.country,
            language=desk_language(),
            fmt=fmt,
            sheet=request.form.get("sheet", "persons")[:20],
            since=_day("since"),
            until=_day("until"),
        )
    except InvalidData as exc:
        for problem in exc.problems:
            flash(
                t(problem.template, **problem.values) if isinstance(problem, Problem) else t(problem), "error"
            )
        return redirect(url_for("desk.io"))
    if asked.new:
        flash(t("Your export is being prepared. It appears here when it is ready."), "ok")
    else:
        flash(t("This export was already asked for: it is in the list below."), "ok")
    return redirect(url_for("desk.exports"))


def my_exports() -> str:
    """List my exports, reloading while one is waiting."""
    exports = list_exports(_janela().db, current_user.actor)
    return render_template(
        "desk/exports.html",
        keep_hours=round(_janela().export_policy.keep.total_seconds() / 3600),
        exports=exports,
        refresh=REFRESH_SECONDS if any_pending(exports) else None,
        status_names=STATUS_NAMES,
        sheet_titles={key: title for key, (title, _columns) in SHEETS.items()},
    )


def download_export(export_id: int) -> BaseResponse:
    """Stream a finished export of mine from the database, a chunk at a time; audited."""
    janela = _janela()
    try:
        found = open_export(janela.db, current_user.actor, export_id)
    except ExportExpired:
        flash(t("This export has expired and its file was deleted. Ask for it again."), "error")
        return redirect(url_for("desk.exports"))
    except ExportNotReady:
        flash(t("This export is not ready yet."), "error")
        return redirect(url_for("desk.exports"))
    headers = {
        "Content-Disposition": f'attachment; filename="{found.file_name}"',
        "Content-Length": str(found.size),
        "Cache-Control": "no-store",
    }
    return Response(
        read_chunks(janela.db, found.id),
        mimetype=XLSX if found.fmt == "xlsx" else "text/csv",
        headers=headers,
    )
