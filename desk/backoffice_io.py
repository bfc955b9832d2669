"""The back office's consolidation pages: the form's template, a file checked then imported, exports.

Exports are asked for here and built by a worker (desk/backoffice_exports.py). An uploaded file
waits in Redis between the report and the officer's confirmation (one hour, under
the officer's id and the file's hash), so any web node can take the confirming POST; confirming
twice, or two officers confirming the same file, imports it once (the registry's unique hash).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import redis
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from conversations.i18n import N_, Translator
from desk.backoffice_exports import XLSX, add_export_routes
from desk.i18n import desk_language, t
from registry.consolidation import (
    COLUMN_LABELS,
    IMPORTERS,
    build_template,
    check_import,
    header_names,
    import_form,
    list_imports,
)
from registry.errors import Problem
from registry.exports import SHEETS, export_choices
from registry.scoping import Actor

UPLOAD_LIMIT = 16 * 1024 * 1024  # a 20,000-row form is about 1 MB
UPLOAD_TTL = 3600  # an hour to read the report and confirm
UNAVAILABLE = N_("Sorry, the service is not available right now. Please try again later.")
log = logging.getLogger(__name__)


def _janela() -> Any:
    return current_app.extensions["janela"]


def _actor() -> Actor:
    return current_user.actor  # type: ignore[no-any-return]


def _headers() -> dict[str, str]:
    return header_names(Translator(language) for language in current_app.config["LANGUAGES"])


def _upload_key(actor: Actor, digest: str) -> str:
    return f"desk:upload:{actor.id}:{digest}"


def _problem_text(problem: Problem) -> str:
    return t(problem.template, **problem.values) if isinstance(problem, Problem) else t(str(problem))


def _column_text(column: str) -> str:
    return t(COLUMN_LABELS[column]) if column in COLUMN_LABELS else ""


# The audit log's words for what these pages record.
AUDIT_ACTIONS = {
    "import_check": N_("Checked a commune's form"),
    "import": N_("Imported a commune's form"),
    "export": N_("Exported an area"),
    "export_download": N_("Downloaded an export"),
}


def add_io_routes(blueprint: Blueprint, add_nav_link: Any) -> None:
    """Add the consolidation pages to the desk's blueprint and its navigation."""
    from desk.views import AUDIT_ACTIONS as named

    add_nav_link("desk.io", N_("Consolidation"))
    named.update(AUDIT_ACTIONS)
    add_export_routes(blueprint)

    @blueprint.before_app_request
    def _allow_upload() -> None:
        # The app caps bodies at 64 KB (webhooks); the form's upload alone may be bigger. This runs
        # before the blueprint's CSRF check reads the body.
        if request.endpoint == "desk.io_check":
            request.max_content_length = UPLOAD_LIMIT

    @blueprint.get("/io", endpoint="io")
    @login_required
    def io_page() -> str:
        """The template, the upload and the export form."""
        actor = _actor()
        language = desk_language()
        imports = list_imports(_janela().db, actor) if actor.role in IMPORTERS else []
        return render_template(
            "desk/io_index.html",
            can_import=actor.role in IMPORTERS,
            areas=export_choices(
                _janela().db, actor, language, Translator(language), _janela().settings.country
            ),
            sheets=[(key, title) for key, (title, _columns) in SHEETS.items()],
            imports=imports,
        )

    @blueprint.get("/io/template", endpoint="io_template")
    @login_required
    def io_template() -> Response:
        """Download the standard enrolment form, headers in my language, my villages listed."""
        language = desk_language()
        content = build_template(
            _janela().db, Translator(language), _janela().settings.country, _actor(), language
        )
        return Response(
            content,
            mimetype=XLSX,
            headers={"Content-Disposition": f'attachment; filename="janela-form-{language}.xlsx"'},
        )

    @blueprint.post("/io/check", endpoint="io_check")
    @login_required
    def io_check() -> str | BaseResponse:
        """Check an uploaded form and show every problem and possible duplicate, importing nothing."""
        actor = _actor()
        upload = request.files.get("file")
        content = upload.read() if upload else b""
        if actor.role not in IMPORTERS or not content:
            flash(t("Choose the filled form (.xlsx) to check."), "error")
            return redirect(url_for("desk.io"))
        name = (upload.filename if upload else "") or "form.xlsx"
        report = check_import(_janela().db, actor, content, _headers(), _janela().settings.country)
        upload_id = hashlib.sha256(content).hexdigest()
        if report.ok and report.already is None:
            try:
                _janela().redis.set(_upload_key(actor, upload_id), content, ex=UPLOAD_TTL)
            except redis.RedisError:
                # Without Redis the upload cannot wait for its confirmation; nothing was written.
                log.warning("cannot keep an upload for its confirmation", exc_info=True)
                flash(t(UNAVAILABLE), "error")
                return redirect(url_for("desk.io"))
        problems = [(p.line, _column_text(p.column), _problem_text(p.problem)) for p in report.problems]
        return render_template(
            "desk/io_report.html", report=report, problems=problems, upload_id=upload_id, file_name=name[:200]
        )

    @blueprint.post("/io/confirm", endpoint="io_confirm")
    @login_required
    def io_confirm() -> str | BaseResponse:
        """Import the checked form; the same file confirmed twice is imported once."""
        actor = _actor()
        upload_id = request.form.get("upload", "")[:64]
        try:
            content = _janela().redis.get(_upload_key(actor, upload_id)) if upload_id else None
        except redis.RedisError:
            log.warning("cannot read an upload back", exc_info=True)
            flash(t(UNAVAILABLE), "error")
            return redirect(url_for("desk.io"))
        if actor.role not in IMPORTERS or content is None:
            flash(t("This upload is no longer kept: check the file again."), "error")
            return redirect(url_for("desk.io"))
        outcome = import_form(
            _janela().db,
            actor,
            bytes(content),
            request.form.get("file_name", "form.xlsx")[:200],
            _headers(),
            _janela().settings.country,
            skip_duplicates=request.form.get("duplicates") == "skip",
        )
        if outcome.imported is None:
            # The registry changed since the check (a village moved, someone registered): show why.
            problems = [
                (p.line, _column_text(p.column), _problem_text(p.problem)) for p in outcome.report.problems
            ]
            return render_template(
                "desk/io_report.html", report=outcome.report, problems=problems, upload_id="", file_name=""
            )
        try:
            _janela().redis.delete(_upload_key(actor, upload_id))
        except redis.RedisError:
            # Harmless: the upload expires within the hour, and confirming it again finds it imported.
            log.warning("cannot drop an imported upload", exc_info=True)
        return render_template("desk/io_done.html", done=outcome.imported, created=outcome.created)
