"""Command-line administration: flask db, programmes, demo, ussd, sms, jobs, sweep, worker."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from registry.catalogue import import_catalogue
from registry.errors import InvalidData
from registry.migrate import downgrade, upgrade
from registry.models import STAFF_ROLES
from registry.statuses import SmsStatus


def _janela():  # type: ignore[no-untyped-def]
    return current_app.extensions["janela"]


def _refuse(exc: InvalidData) -> NoReturn:
    """Print every problem of refused input and exit with status 1."""
    for problem in exc.problems:
        click.echo(f"error: {problem}", err=True)
    raise click.exceptions.Exit(1) from exc


# The demo's published desk password; production never gets it (see prepare_database).
DEMO_DESK_PASSWORD = "janela-demo"


def prepare_database(app: Flask) -> None:
    """Migrate the schema to the newest revision and load the demo data into an empty registry."""
    from registry.demo import load_demo

    app_ = app.extensions["janela"]
    upgrade(app_.engine)
    loaded = load_demo(app_.db, app_.settings.country)
    if app.config["DEPLOYMENT"] != "production":
        from registry.staff_auth import set_demo_passwords

        if set_demo_passwords(app_.db, DEMO_DESK_PASSWORD):
            click.echo(f"Demo desk staff sign in at /desk with password {DEMO_DESK_PASSWORD}.")
    if loaded.programmes:
        click.echo(f"Loaded the {app_.settings.country} demo catalogue: {loaded.programmes} programmes.")
    if loaded.areas or loaded.staff or loaded.households:
        click.echo(
            f"Loaded the {app_.settings.country} demo registry: {loaded.areas} areas, "
            f"{loaded.staff} staff, {loaded.households} households."
        )


db_group = AppGroup("db", help="Manage the database schema.")


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database schema up to REVISION (default: the newest)."""
    upgrade(_janela().engine, revision)
    click.echo(f"Database at {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database schema down to REVISION."""
    downgrade(_janela().engine, revision)
    click.echo(f"Database at {revision}.")


programmes_group = AppGroup("programmes", help="Manage the programme catalogue.")


@programmes_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def programmes_import(path: Path) -> None:
    """Import or update the programmes of a catalogue file (JSON)."""
    try:
        result = import_catalogue(_janela().db, path)
    except InvalidData as exc:
        _refuse(exc)
    click.echo(
        f"{result.country}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
    )


@programmes_group.command("list")
@click.option("--language", default=None, help="Language of the names (default: the default).")
def programmes_list(language: str | None) -> None:
    """List the programmes of the configured country."""
    from registry.services import list_programmes

    app_ = _janela()
    lang = language or app_.settings.default_language
    for p in list_programmes(app_.db, app_.settings.country, lang, app_.settings.default_language):
        click.echo(f"{p.code}\t{p.name}")


areas_group = AppGroup("areas", help="Administrative areas: province, district, commune, village.")


@areas_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def areas_import(path: Path) -> None:
    """Import areas from a CSV file (code,parent_code,level,name_km,name_pt,name_en).

    The whole file is checked first; any bad row is reported with its line and nothing is imported.
    """
    from registry.areas import import_areas

    try:
        result = import_areas(_janela().db, path)
    except InvalidData as exc:
        _refuse(exc)
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged.")


staff_group = AppGroup("staff", help="Staff: village chiefs, commune desks, district and province officers.")


@staff_group.command("add")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--area", "area_code", default=None, help="Code of the area the role works at.")
@click.option("--phone", required=True)
@click.option("--name", required=True)
def staff_add(role: str, area_code: str | None, phone: str, name: str) -> None:
    """Add a staff member."""
    from registry.phones import normalise_phone
    from registry.staff import add_staff

    app_ = _janela()
    try:
        staff = add_staff(app_.db, role, area_code, normalise_phone(phone, app_.settings.country), name)
    except InvalidData as exc:
        _refuse(exc)
    click.echo(f"Added {staff.role} {staff.name} ({staff.phone}) as staff {staff.id}.")


@staff_group.command("list")
@click.option("--role", default=None, type=click.Choice(STAFF_ROLES))
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated staff.")
def staff_list(role: str | None, include_inactive: bool) -> None:
    """List staff with their area and phone."""
    from registry.staff import list_staff

    for s in list_staff(_janela().db, role, include_inactive):
        state = "" if s.active else "\tinactive"
        click.echo(f"{s.id}\t{s.role}\t{s.area_code or '-'}\t{s.phone}\t{s.name}{state}")


@staff_group.command("deactivate")
@click.argument("staff_id", type=int)
def staff_deactivate(staff_id: int) -> None:
    """Deactivate a staff member: no more alerts, no more actions; the history stays."""
    from registry.errors import NotFound
    from registry.staff import deactivate_staff

    try:
        staff = deactivate_staff(_janela().db, staff_id)
    except NotFound as exc:
        raise click.ClickException(f"no staff {staff_id}") from exc
    click.echo(f"Deactivated {staff.role} {staff.name}.")


demo_group = AppGroup("demo", help="Demo data.")


@demo_group.command("load")
def demo_load() -> None:
    """Migrate the schema and load COUNTRY's demo data into the empty parts of the registry."""
    prepare_database(current_app._get_current_object())  # type: ignore[attr-defined]


ussd_group = AppGroup("ussd", help="Run USSD sessions from the command line.")


@ussd_group.command("run")
@click.option("--phone", required=True, help="The caller's phone number.")
@click.option("--code", default="*384*123#", show_default=True, help="The dialled service code.")
@click.argument("inputs", nargs=-1)
def ussd_run(phone: str, code: str, inputs: tuple[str, ...]) -> None:
    """Dial the service as Africa's Talking would and type INPUTS, printing every screen.

    Example: flask ussd run --phone +85512345678 3 1 1 98

    Extra digits in the code (--code '*384*123*1#') arrive with the first hop, as on a phone.
    """
    client = current_app.test_client()
    session_id = f"cli-{uuid.uuid4().hex[:12]}"
    token = current_app.config["WEBHOOK_TOKEN"]
    url = f"/ussd?token={token}" if token else "/ussd"
    code, typed = _split_dial(code, current_app.config["USSD_SERVICE_CODES"] or ("*384*123#",))
    for step in [None, *inputs]:
        if step is not None:
            typed.append(step)
            click.echo(click.style(f"> {step}", fg="cyan"))
        form = {
            "sessionId": session_id,
            "serviceCode": code,
            "phoneNumber": phone,
            "networkCode": "99999",
            "text": "*".join(typed),
        }
        response = client.post(url, data=form)
        body = response.get_data(as_text=True)
        click.echo(body if response.status_code == 200 else f"[{response.status_code}] {body}")
        click.echo("-" * 24)
        if body.startswith("END") or response.status_code != 200:
            break


def _split_dial(dialled: str, service_codes: tuple[str, ...]) -> tuple[str, list[str]]:
    """Split a dial string into the service code and the extra digits, as the gateway does."""

    def parts(code: str) -> list[str]:
        return [p for p in code.strip().rstrip("#").split("*") if p]

    got = parts(dialled)
    for service in service_codes:
        base = parts(service)
        if got[: len(base)] == base:
            return service, got[len(base) :]
    return dialled, []


sms_group = AppGroup("sms", help="Outgoing SMS: what was sent, what failed, and retries.")


@sms_group.command("list")
@click.option("--status", default=None, type=click.Choice([str(s) for s in SmsStatus]))
@click.option("--phone", default=None, help="Only messages to this number.")
@click.option("--limit", default=30, show_default=True)
def sms_list(status: str | None, phone: str | None, limit: int) -> None:
    """List the latest outgoing SMS with their status, segments and cost, then the totals."""
    from registry.outbox import list_sms, sms_totals
    from registry.phones import mask_phone, normalise_phone

    app_ = _janela()
    wanted = normalise_phone(phone, app_.settings.country) if phone else None
    for m in list_sms(app_.db, phone=wanted, status=status, limit=limit):
        part = f" part {m.part}/{m.parts}" if m.parts > 1 else ""
        error = f"  ({m.last_error})" if m.last_error else ""
        click.echo(
            f"{m.id}\t{m.created_at:%Y-%m-%d %H:%M}\t{mask_phone(m.recipient)}\t{m.status}\t"
            f"{m.segments} seg {m.encoding}{part}\t{m.cost or '-'}\t{m.purpose}{error}"
        )
    click.echo(
        "totals: "
        + ", ".join(
            f"{status} {count} ({segments} segments)"
            for status, (count, segments) in sorted(sms_totals(app_.db).items())
        )
    )


@sms_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option(
    "--all-failed",
    is_flag=True,
    help="Retry every failed message, except those whose sends had unknown outcomes (name those).",
)
def sms_retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Send failed messages again (after fixing what made them fail)."""
    from registry.outbox import retry_failed_sms
    from workers.queues import enqueue_sms

    if not ids and not all_failed:
        raise click.UsageError("name message ids, or --all-failed")
    app_ = _janela()
    retried = retry_failed_sms(app_.db, list(ids) or None)
    enqueue_sms(app_.queues, retried, app_.delivery.rq_retry, batch_size=app_.delivery.batch_size)
    click.echo(f"{len(retried)} message(s) queued again.")


jobs_group = AppGroup("jobs", help="RQ jobs: failures and retries.")


@jobs_group.command("failed")
def jobs_failed() -> None:
    """List failed jobs of every queue, with their error."""
    for name, queue in _janela().queues.items():
        registry = queue.failed_job_registry
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            result = job.latest_result() if job else None
            error = (result.exc_string or "").strip().splitlines()[-1:] if result else ["(gone)"]
            click.echo(f"{name}\t{job_id}\t{job.description if job else ''}\t{' '.join(error)}")


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1)
def jobs_retry(job_ids: tuple[str, ...]) -> None:
    """Requeue failed jobs: the given ones, or all of them."""
    count = 0
    for queue in _janela().queues.values():
        registry = queue.failed_job_registry
        for job_id in registry.get_job_ids():
            if not job_ids or job_id in job_ids:
                registry.requeue(job_id)
                count += 1
    click.echo(f"{count} job(s) requeued.")


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Hand on every message whose job was lost (the worker also does this every minute)."""
    from workers.sweep import sweep

    report = sweep(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(
        f"{report.sms} SMS and {report.inbound} inbound message(s) handed on; "
        f"{report.released} stale claim(s) released."
    )


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker (with its scheduler) on janela's queues."""
    from workers.run import run_worker

    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


def register(app: Flask) -> None:
    """Attach every command group to app."""
    from commands import staff as staff_commands
    from commands.announce import announce_command
    from commands.cards import cards_group
    from commands.cases import cases_group
    from commands.inbound import inbound_group
    from commands.prune import prune_command
    from commands.registry_io import registry_group
    from commands.stats import stats_command

    staff_commands.register(staff_group)
    for command in (
        db_group,
        programmes_group,
        areas_group,
        staff_group,
        cases_group,
        cards_group,
        announce_command,
        demo_group,
        ussd_group,
        sms_group,
        jobs_group,
        inbound_group,
        sweep_command,
        worker_command,
        prune_command,
        stats_command,
        registry_group,
    ):
        app.cli.add_command(command)
