"""The desk's pages: sign-in, queue, case, verification, household, search, walk-ins, decisions, audit."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from conversations.case_texts import CATEGORY_NAMES, STATUS_NAMES
from conversations.country import country_words
from conversations.i18n import N_
from conversations.prereg import Texts as PreRegistrationTexts
from desk.actions import ACTIONS, NEEDS_TEXT, Moved, move_case, offered_moves
from desk.forms import SetUpForm, SignInForm, WalkInForm
from desk.i18n import desk_language, remember_language, t
from desk.protection import csrf
from desk.texts import DeskTexts
from desk.users import DeskUser
from registry import services
from registry.audit import read_audit_log
from registry.casefile import read_case, read_household, search_registry
from registry.cases import CATEGORIES
from registry.db import utcnow
from registry.errors import InvalidData, NotFound, Problem
from registry.idempotency import request_key
from registry.phones import normalise_phone
from registry.preregistration import Channel, Declaration, submit_preregistration
from registry.queue import KINDS, QueueFilters, list_desk_queue, queue_counts, villages_of
from registry.scoping import Actor
from registry.staff_auth import LockPolicy, redeem_setup_code, sign_in
from registry.timeline import SYSTEM_NOTES
from registry.verification import (
    Member,
    RequestStatus,
    attach_to_household,
    decide_enrolment,
    list_enrolment_requests,
    register_household,
)

blueprint = Blueprint(
    "desk", __name__, url_prefix="/desk", template_folder="templates", static_folder="static"
)

# Extra household members the verification form offers rows for.
MEMBER_ROWS = 6


def _janela() -> Any:
    return current_app.extensions["janela"]


def _actor() -> Actor:
    user: DeskUser = current_user  # type: ignore[assignment]
    return user.actor


def _lock_policy() -> LockPolicy:
    config = current_app.config
    return LockPolicy(
        config["DESK_LOCK_FAILURES"], config["DESK_LOCK_MINUTES"], config["DESK_SETUP_CODE_MINUTES"]
    )


@blueprint.before_request
def _protect() -> None:
    """Check the CSRF token of every desk form."""
    if request.method == "POST":
        csrf.protect()


@blueprint.after_request
def _no_store(response: Response) -> Response:
    # Pages hold people's data: not kept in a shared laptop's cache.
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.app_errorhandler(NotFound)
def _not_found(_exc: NotFound) -> tuple[str, int]:
    return render_template("desk/not_found.html"), 404


@blueprint.app_template_global()
def category_label(category: str | None) -> str:
    """Name a category or kind in the page's language."""
    if category is None:
        return ""
    return t(CATEGORY_NAMES[category]) if category in CATEGORY_NAMES else category


@blueprint.app_template_global()
def status_label(status: str) -> str:
    """Name a case status in the page's language, with the country's words for leaders and desks."""
    if status not in STATUS_NAMES:
        return status
    words = country_words(current_app.config["COUNTRY"]).placeholders(desk_language())
    return t(STATUS_NAMES[status], **words)


# What enrolment requests and enrolments can be, in words.
REQUEST_STATUS = {
    RequestStatus.REQUESTED: N_("Waiting for the district"),
    RequestStatus.APPROVED: N_("Approved"),
    RequestStatus.DECLINED: N_("Declined"),
    "active": N_("Active"),
}
# A case's timeline entries, in words.
EVENT_NAMES = {
    "filed": N_("Filed"),
    "submitted": N_("Submitted"),
    "flagged_duplicate": N_("Possible duplicate"),
    "acknowledged": N_("Acknowledged"),
    "picked_up": N_("Picked up"),
    "note": N_("Note"),
    "citizen_details": N_("Details from the citizen"),
    "resolved_at_village": N_("Resolved in the village"),
    "resolved": N_("Resolved"),
    "rejected": N_("Rejected"),
    "escalated": N_("Escalated"),
    "verified": N_("Verified"),
    "acknowledged_by_desk": N_("Acknowledged by the desk"),
    "asked_citizen": N_("Asked the citizen"),
    "taken_over": N_("Taken over"),
}
# The audit log's actions, in words (an action not named here shows as stored).
AUDIT_ACTIONS = {
    "sign_in": N_("Signed in"),
    "sign_in_failed": N_("Sign-in failed"),
    "sign_in_refused": N_("Sign-in refused (locked)"),
    "account_locked": N_("Account locked"),
    "password_set": N_("Password set"),
    "setup_code_sent": N_("Set-up code sent"),
    "setup_code_failed": N_("Set-up code refused"),
    "refused_read": N_("Read refused (outside the area)"),
    "view_case": N_("Viewed a case"),
    "view_household": N_("Viewed a household"),
    "view_enrolment_requests": N_("Viewed enrolment requests"),
    "view_audit_log": N_("Viewed the audit log"),
    "search": N_("Searched the registry"),
    "verify": N_("Verified a pre-registration"),
    "enrolment_approved": N_("Approved an enrolment"),
    "enrolment_declined": N_("Declined an enrolment"),
}
# Why a desk action changed nothing, in words; HELD names the holder.
REFUSALS = {
    "already_taken": N_("Another officer took this case first."),
    "already_done": N_("This was done already."),
    "closed": N_("This case is closed already."),
    "held": N_(
        "{name} holds this case: only they can act on it, or an officer of a level above who takes it over."
    ),
    "no_phone": N_("This case has no phone number to send an SMS to."),
    "not_allowed": N_("This case is not at your desk now, so you cannot act on it."),
}
# The desk's navigation: (endpoint, label, roles that see it; empty: everyone). Other desk
# modules (the back office) add their pages with add_nav_link.
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("desk.queue", N_("Queue"), ()),
    ("desk.search", N_("Search"), ()),
    ("desk.walk_in", N_("Walk-in"), ("commune_desk", "district_officer", "national_admin")),
    ("desk.enrolments", N_("Enrolments"), ()),
    ("desk.audit", N_("Audit log"), ("province_officer", "national_admin")),
]


def add_nav_link(endpoint: str, label: str, roles: tuple[str, ...] = ()) -> None:
    """Add a page to the desk's navigation (label marked with N_, translated per page)."""
    if all(item[0] != endpoint for item in NAV):
        NAV.append((endpoint, label, roles))


@blueprint.app_template_global()
def desk_nav() -> list[tuple[str, str, tuple[str, ...]]]:
    """Return the navigation links."""
    return NAV


@blueprint.app_template_global()
def event_label(action: str) -> str:
    """Name a timeline entry in the page's language."""
    return t(EVENT_NAMES[action]) if action in EVENT_NAMES else action


@blueprint.app_template_global()
def event_note(note: str) -> str:
    """Show a timeline note: the service's own in the page's language, a person's as written."""
    return t(note) if note in SYSTEM_NOTES else note


@blueprint.app_template_global()
def audit_label(action: str) -> str:
    """Name an audit log action in the page's language."""
    return t(AUDIT_ACTIONS[action]) if action in AUDIT_ACTIONS else action


@blueprint.app_template_global()
def request_status(status: str) -> str:
    """Name an enrolment (request) status in the page's language."""
    return t(REQUEST_STATUS[status]) if status in REQUEST_STATUS else status


def _problems(exc: InvalidData) -> None:
    """Flash each problem in the page's language (the registry writes them in English)."""
    for problem in exc.problems:
        if isinstance(problem, Problem):
            flash(t(problem.template, **problem.values), "error")
        else:
            flash(t(problem), "error")


def _refused(reason: str, held_by: str = "") -> None:
    """Flash why an action changed nothing, with the holder's name when another officer holds it."""
    if reason == "held":
        flash(t(REFUSALS["held"], name=held_by or "?"), "error")
    elif reason == "already_done":
        flash(t(REFUSALS["already_done"]), "ok")
    elif reason in REFUSALS:
        flash(t(REFUSALS[reason]), "error")
    else:
        flash(t("This action is not allowed on this case."), "error")


def _back_to(default: str) -> str:
    """Return the desk page a form asked to come back to, else default (never another site)."""
    target = request.form.get("next", "")
    return target if target.startswith("/desk") and "//" not in target else default


# Sign-in, set-up, language


@blueprint.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> str | BaseResponse | tuple[str, int]:
    """Sign in with phone and password."""
    form = SignInForm()
    if form.validate_on_submit():
        try:
            phone = normalise_phone(form.phone.data or "", current_app.config["COUNTRY"])
        except InvalidData:
            phone = ""
        outcome = sign_in(_janela().db, phone, form.password.data or "", _lock_policy()) if phone else None
        if outcome and outcome.actor:
            login_user(DeskUser(outcome.actor))
            known = services.get_language(_janela().db, outcome.actor.phone)
            if known is not None and known in current_app.config["LANGUAGES"]:
                remember_language(known)
            return redirect(url_for("desk.queue"))
        if outcome and outcome.reason == "locked":
            flash(t("Too many failed tries: this account is locked for a while. Try again later."), "error")
        else:
            flash(t("Wrong phone number or password."), "error")
        return render_template("desk/sign_in.html", form=form), 401
    return render_template("desk/sign_in.html", form=form)


@blueprint.post("/sign-out")
def sign_out() -> BaseResponse:
    """Sign out of this browser."""
    logout_user()
    return redirect(url_for("desk.sign_in"))


@blueprint.route("/set-up", methods=["GET", "POST"])
def set_up() -> str | BaseResponse:
    """Set a password with the one-time code received by SMS."""
    form = SetUpForm()
    if form.validate_on_submit():
        try:
            phone = normalise_phone(form.phone.data or "", current_app.config["COUNTRY"])
            actor = redeem_setup_code(
                _janela().db, phone, form.code.data or "", form.password.data or "", _lock_policy()
            )
        except InvalidData:
            actor = None
        if actor is not None:
            login_user(DeskUser(actor))
            return redirect(url_for("desk.queue"))
        flash(t("This code does not work. Ask for a new one."), "error")
    elif form.errors:
        flash(t("A password needs at least 10 characters."), "error")
    return render_template("desk/set_up.html", form=form)


@blueprint.post("/language")
def language() -> BaseResponse:
    """Change the desk's language and remember it."""
    chosen = request.form.get("language", "")
    if chosen in current_app.config["LANGUAGES"]:
        remember_language(chosen)
    target = request.form.get("next", "")
    # Only a path of this site: an outside address here would be an open redirect.
    if not target.startswith("/desk") or "//" in target:
        target = url_for("desk.queue")
    return redirect(target)


# The queue


def _filters() -> QueueFilters:
    args = request.args
    return QueueFilters(
        kind=args.get("kind", "") if args.get("kind") in KINDS else "",
        category=args.get("category", "") if args.get("category") in CATEGORIES else "",
        village=args.get("village", "")[:20],
        status=args.get("status", "") if args.get("status") in STATUS_NAMES else "",
        overdue=args.get("overdue") == "1",
        duplicate=args.get("duplicate") == "1",
        mine=args.get("mine") == "1",
    )


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), 10_000) if raw.isdigit() and int(raw) > 0 else 1


@blueprint.get("/")
@login_required
def queue() -> str:
    """The open cases of my area, due soonest first."""
    filters = _filters()
    language = desk_language()
    page = list_desk_queue(_janela().db, _actor(), filters, language, _page_number())
    return render_template(
        "desk/queue.html",
        page=page,
        filters=filters,
        villages=villages_of(_janela().db, _actor(), language),
        kinds=KINDS,
        categories=CATEGORIES,
        statuses=[s for s in STATUS_NAMES if s not in ("resolved", "rejected")],
        now=utcnow(),
        # One per page shown, with the row's reference: a double click on a row's pick-up is one move.
        form_token=secrets.token_urlsafe(16),
    )


@blueprint.get("/counts")
@login_required
def counts() -> Response:
    """The queue's counts, for the page to refresh them without reloading."""
    return jsonify(queue_counts(_janela().db, _actor()))


# A case


@blueprint.get("/cases/<reference>")
@login_required
def case_page(reference: str) -> str:
    """The request, the person and household, the timeline, and the actions allowed."""
    case = read_case(_janela().db, _actor(), reference, desk_language())
    return render_template(
        "desk/case.html",
        case=case,
        actions=ACTIONS,
        moves=offered_moves(_janela().db, _actor(), case.reference),
        needs_text=NEEDS_TEXT,
        member_rows=range(MEMBER_ROWS),
        # One per page shown: the same form submitted twice is one move (the state machine's key).
        form_token=secrets.token_urlsafe(16),
        this_year=utcnow().year,
    )


@blueprint.post("/cases/<reference>/act")
@login_required
def act(reference: str) -> BaseResponse:
    """Apply one action to a case through the case service."""
    app = _janela()
    actor = _actor()
    read_case(app.db, actor, reference, desk_language())  # scope check, recorded when refused
    action = request.form.get("action", "")
    # The question the officer asks has its own field, so a note typed beside it is not sent.
    field = "question" if action == "ask" else "note"
    note = request.form.get(field, "").strip()[:1000]
    back = redirect(_back_to(url_for("desk.case_page", reference=reference)))
    if action not in ACTIONS:
        abort(400)
    if action in NEEDS_TEXT and not note:
        flash(t("Write the text this action needs."), "error")
        return back
    try:
        moved = move_case(
            app.db,
            actor,
            reference,
            action,
            note,
            app.settings.services,
            request.form.get("form_token", "")[:64] or None,
            desk_language(),
        )
    except InvalidData as exc:
        _problems(exc)
        return back
    _said(moved, reference)
    return back


def _said(moved: Moved, reference: str) -> None:
    """Flash what became of an action."""
    if moved.ok:
        flash(t("Done."), "ok")
    else:
        _refused(moved.reason, moved.held_by)


def _members() -> list[Member]:
    members = []
    for row in range(MEMBER_ROWS):
        name = request.form.get(f"member_name_{row}", "").strip()
        if not name:
            continue
        year = request.form.get(f"member_year_{row}", "").strip()
        members.append(
            Member(name[:80], request.form.get(f"member_sex_{row}", ""), int(year) if year.isdigit() else 0)
        )
    return members


@blueprint.post("/cases/<reference>/verify")
@login_required
def verify(reference: str) -> BaseResponse:
    """Register a pre-registration as a new household, attach it to one, or decline it."""
    app = _janela()
    actor = _actor()
    texts = DeskTexts(app.settings.country)
    how = request.form.get("how", "")
    back = redirect(url_for("desk.case_page", reference=reference))
    try:
        if how == "new":
            done = register_household(app.db, actor, reference, _members(), texts, app.settings.services)
        elif how == "attach":
            raw = request.form.get("household", "").strip()
            if not raw.isdigit():
                raise InvalidData([t("Give the number of the household.")])
            done = attach_to_household(app.db, actor, reference, int(raw), texts, app.settings.services)
        elif how == "decline":
            read_case(app.db, actor, reference, desk_language())
            reason = request.form.get("reason", "").strip()[:500]
            if not reason:
                raise InvalidData([t("Write the text this action needs.")])
            moved = move_case(
                app.db,
                actor,
                reference,
                "reject",
                reason,
                app.settings.services,
                request.form.get("form_token", "")[:64] or None,
                desk_language(),
            )
            _said(moved, reference)
            return back
        else:
            abort(400)
    except InvalidData as exc:
        _problems(exc)
        return back
    if not done.ok:
        # The real reason: closed, verified already, held by another officer, or no longer at this desk.
        _refused(done.reason, done.held_by)
        return back
    flash(t("Registered. IDs: {ids}", ids=", ".join(f"{n} {i}" for n, i in done.ids)), "ok")
    return redirect(url_for("desk.household", household_id=done.household_id))


# Households, search, walk-ins


@blueprint.get("/households/<int:household_id>")
@login_required
def household(household_id: int) -> str:
    """A household: members with their IDs, phones, enrolments."""
    found = read_household(_janela().db, _actor(), household_id, desk_language())
    return render_template("desk/household.html", household=found)


@blueprint.get("/search")
@login_required
def search() -> str:
    """Search the registry of my area by ID, name, phone or village."""
    query = request.args.get("q", "").strip()[:80]
    people = search_registry(_janela().db, _actor(), query, desk_language()) if query else []
    return render_template("desk/search.html", query=query, people=people)


@blueprint.route("/walk-in", methods=["GET", "POST"])
@login_required
def walk_in() -> str | BaseResponse:
    """Fill the standard pre-registration form for a person at the counter."""
    app = _janela()
    language = desk_language()
    form = WalkInForm()
    villages = villages_of(app.db, _actor(), language)
    programmes = services.list_programmes(
        app.db, app.settings.country, language, app.settings.default_language
    )
    form.village.choices = [SelectChoice(code, name) for code, name in villages]
    form.programmes.choices = [SelectChoice(p.code, p.name) for p in programmes]
    if request.method == "GET":
        form.token.data = secrets.token_urlsafe(16)
    if form.validate_on_submit():
        try:
            phone = normalise_phone(form.phone.data, app.settings.country) if form.phone.data else None
            born = date.fromisoformat(form.birth_date.data) if form.birth_date.data else None
            declared = Declaration(
                full_name=" ".join((form.full_name.data or "").split()),
                sex=form.sex.data or "",
                birth_year=born.year if born else int(form.birth_year.data or 0),
                birth_date=born,
                village_code=form.village.data or "",
                household_size=int(form.household_size.data or 1),
                programme_codes=tuple(form.programmes.data or ()),
                phone=phone,
            )
            result = submit_preregistration(
                app.db,
                declared,
                language=language,
                consent_at=utcnow(),
                idempotency_key=request_key("walk_in", _actor().phone, f"{_actor().id}:{form.token.data}"),
                texts=PreRegistrationTexts(),
                settings=app.settings.services,
                assisted_by_id=_actor().id,
                channel=Channel.DESK,
            )
        except (InvalidData, ValueError):
            flash(t("Check the form: some answers cannot be kept as they are."), "error")
        else:
            flash(t("Pre-registration {reference} filed.", reference=result.reference), "ok")
            return redirect(url_for("desk.case_page", reference=result.reference))
    elif request.method == "POST":
        flash(t("Check the form: some answers cannot be kept as they are."), "error")
    return render_template("desk/walk_in.html", form=form, villages=villages, programmes=programmes)


# Enrolment decisions (district) and the audit log (province, national)


@blueprint.get("/enrolments")
@login_required
def enrolments() -> str:
    """Enrolment requests of my area waiting for the district's decision."""
    status = request.args.get("status", RequestStatus.REQUESTED)
    status = status if status in set(RequestStatus) else RequestStatus.REQUESTED
    rows = list_enrolment_requests(_janela().db, _actor(), desk_language(), status)
    return render_template("desk/enrolments.html", rows=rows, status=status)


@blueprint.post("/enrolments/<int:request_id>")
@login_required
def decide(request_id: int) -> BaseResponse:
    """Approve or decline an enrolment request."""
    app = _janela()
    approve = request.form.get("decision") == "approve"
    try:
        done = decide_enrolment(
            app.db,
            _actor(),
            request_id,
            approve,
            request.form.get("reason", "")[:500],
            DeskTexts(app.settings.country),
            app.settings.sms_policy,
            app.settings.default_language,
        )
    except InvalidData:
        flash(t("Write the text this action needs."), "error")
        return redirect(url_for("desk.enrolments"))
    flash(t("Done.") if done else t("This request was decided already."), "ok" if done else "error")
    return redirect(url_for("desk.enrolments"))


@blueprint.get("/audit")
@login_required
def audit() -> str:
    """The audit log of my area."""
    log = read_audit_log(_janela().db, _actor(), desk_language(), _page_number())
    return render_template("desk/audit.html", log=log)
