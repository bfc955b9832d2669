"""Command-line administration: `flask db`, `flask programmes`, `flask demo`, `flask ussd`, `flask worker`."""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from registry.catalogue import demo_catalogue, import_catalogue
from registry.errors import InvalidData
from registry.migrate import downgrade, upgrade
from registry.models import Programme


def _janela():  # type: ignore[no-untyped-def]
    return current_app.extensions["janela"]


def prepare_database(app: Flask) -> None:
    """Migrate the schema to the newest revision and load the demo data into an empty registry."""
    app_ = app.extensions["janela"]
    upgrade(app_.engine)
    with app_.db() as session:
        empty = not session.scalar(
            select(func.count()).select_from(Programme).where(Programme.country == app_.settings.country)
        )
    if empty:
        path = demo_catalogue(app_.settings.country)
        if path.exists():
            result = import_catalogue(app_.db, path)
            click.echo(f"Loaded the {result.country} demo catalogue: {result.created} programmes.")
        else:
            click.echo(
                f"No demo catalogue for {app_.settings.country}; import one with "
                "`flask programmes import FILE`."
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
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise click.exceptions.Exit(1) from exc
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


demo_group = AppGroup("demo", help="Demo data.")


@demo_group.command("load")
def demo_load() -> None:
    """Migrate the schema and load the demo catalogue of COUNTRY when the registry is empty."""
    prepare_database(current_app._get_current_object())  # type: ignore[attr-defined]


ussd_group = AppGroup("ussd", help="Run USSD sessions from the command line.")


@ussd_group.command("run")
@click.option("--phone", required=True, help="The caller's phone number.")
@click.option("--code", default="*384*123#", show_default=True, help="The dialled service code.")
@click.argument("inputs", nargs=-1)
def ussd_run(phone: str, code: str, inputs: tuple[str, ...]) -> None:
    """Dial the service as Africa's Talking would and type INPUTS, printing every screen.

    Example: flask ussd run --phone +85512345678 3 1 1 98
    """
    client = current_app.test_client()
    session_id = f"cli-{uuid.uuid4().hex[:12]}"
    token = current_app.config["WEBHOOK_TOKEN"]
    url = f"/ussd?token={token}" if token else "/ussd"
    typed: list[str] = []
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


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker (with its scheduler) on janela's queues."""
    from workers.run import run_worker

    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


def register(app: Flask) -> None:
    """Attach every command group to app."""
    for command in (db_group, programmes_group, demo_group, ussd_group, worker_command):
        app.cli.add_command(command)
