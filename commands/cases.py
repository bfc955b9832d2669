"""`flask cases`: a desk's queue and its work from the command line, through the state machine."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from registry.clock import local_date

cases_group = AppGroup("cases", help="A desk's queue: list, pick up, annotate, resolve, reject, escalate.")

REFUSALS = {
    "not_found": "no case {reference}",
    "not_allowed": "{phone} does not work this case's desk",
    "already_taken": "case {reference} was already picked up",
    "already_done": "case {reference}: that was done already; nothing changed",
    "closed": "case {reference} is closed",
    "not_now": "case {reference} cannot do that now ({status})",
    "needs_note": "say why: this needs a note",
    "top_level": "case {reference} is at the top level already",
    "held": "case {reference} is held by {holder}: only they, or a level above taking it over, can act",
    "no_phone": "case {reference} has no phone to send an SMS to",
}


def _janela():  # type: ignore[no-untyped-def]
    return current_app.extensions["janela"]


def _move(reference: str, phone: str, move: str, note: str | None = None) -> None:
    from conversations.case_texts import CaseTexts
    from registry.case_states import apply_move
    from registry.cases import staff_by_phone
    from registry.errors import InvalidData
    from registry.phones import normalise_phone

    app_ = _janela()
    try:
        number = normalise_phone(phone, app_.settings.country)
    except InvalidData as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    staff = staff_by_phone(app_.db, number)
    if staff is None:
        raise click.ClickException(f"{phone} does not work this case's desk")
    result = apply_move(
        app_.db,
        reference,
        staff,
        move,
        app_.settings.services,
        CaseTexts(app_.settings.country),
        note=note,
        language=app_.settings.default_language,
    )
    status = result.case.status if result.case else "-"
    if not result.applied:
        message = REFUSALS.get(result.reason, result.reason)
        holder = result.case.held_by if result.case else ""
        raise click.ClickException(
            message.format(
                reference=reference, phone=phone, status=status, holder=holder or "another officer"
            )
        )
    case = result.case
    assert case is not None
    click.echo(
        f"{case.reference}: {case.status}" + (f" (escalated, at {case.desk})" if case.escalated else "")
    )


@cases_group.command("list")
@click.option("--desk", "desk_code", required=True, help="Code of the commune (or district) desk.")
@click.option("--all", "include_closed", is_flag=True, help="Include closed cases.")
def cases_list(desk_code: str, include_closed: bool) -> None:
    """List a desk's cases, the one due soonest first (dates in TIMEZONE)."""
    from registry.cases import list_queue
    from registry.errors import NotFound

    app_ = _janela()
    zone = app_.settings.zone
    try:
        cases = list_queue(
            app_.db, desk_code, app_.settings.default_language, app_.settings.default_language, include_closed
        )
    except NotFound as exc:
        raise click.ClickException(f"no desk {desk_code}") from exc
    for c in cases:
        due = f"{local_date(c.resolve_due_at, zone):%Y-%m-%d}" if c.resolve_due_at else "-"
        flag = " escalated" if c.escalated else ""
        click.echo(f"{c.reference}\t{c.kind}\t{c.category or '-'}\t{c.status}{flag}\tdue {due}\t{c.village}")
    click.echo(f"{len(cases)} case(s).")


@cases_group.command("pickup")
@click.argument("reference")
@click.option("--by", "phone", required=True, help="Phone of the desk officer.")
def cases_pickup(reference: str, phone: str) -> None:
    """Pick up a case; a second officer is refused."""
    _move(reference, phone, "pickup")


@cases_group.command("note")
@click.argument("reference")
@click.argument("text")
@click.option("--by", "phone", required=True)
def cases_note(reference: str, text: str, phone: str) -> None:
    """Add a note to a case's timeline."""
    _move(reference, phone, "note", text)


@cases_group.command("resolve")
@click.argument("reference")
@click.argument("outcome")
@click.option("--by", "phone", required=True)
def cases_resolve(reference: str, outcome: str, phone: str) -> None:
    """Resolve a case with its outcome; the citizen is told."""
    _move(reference, phone, "resolve", outcome)


@cases_group.command("reject")
@click.argument("reference")
@click.argument("reason")
@click.option("--by", "phone", required=True)
def cases_reject(reference: str, reason: str, phone: str) -> None:
    """Close a case without action, saying why; the citizen is told."""
    _move(reference, phone, "reject", reason)


@cases_group.command("escalate")
@click.argument("reference")
@click.option("--by", "phone", required=True)
@click.option("--note", default=None)
def cases_escalate(reference: str, phone: str, note: str | None) -> None:
    """Hand a case to the next level (commune, district, province); its officers and the citizen are told."""
    _move(reference, phone, "escalate", note)


@cases_group.command("escalate-overdue")
def cases_escalate_overdue() -> None:
    """Escalate every case past its deadline (workers also do this at each sweep)."""
    from conversations.case_texts import CaseTexts
    from registry.escalation import escalate_overdue

    app_ = _janela()
    escalated = escalate_overdue(app_.db, app_.settings.services, CaseTexts(app_.settings.country))
    click.echo(f"{len(escalated)} case(s) escalated." + (f" {' '.join(escalated)}" if escalated else ""))


@cases_group.command("set-deadlines")
def cases_set_deadlines() -> None:
    """Give open cases filed without deadlines (pre-registrations before they had any) theirs, from now."""
    from registry.escalation import set_missing_deadlines

    app_ = _janela()
    click.echo(f"{set_missing_deadlines(app_.db, app_.settings.services)} case(s) given deadlines.")
