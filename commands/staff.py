"""`flask staff set-password` and `flask staff send-code`: give desk staff their way in."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from registry.errors import InvalidData, NotFound
from registry.phones import normalise_phone
from registry.staff_auth import LockPolicy, find_desk_staff, send_setup_code, set_password


def _actor_id(phone: str) -> int:
    janela = current_app.extensions["janela"]
    try:
        number = normalise_phone(phone, janela.settings.country)
    except InvalidData as exc:
        raise click.ClickException(f"{phone} is not a phone number") from exc
    actor = find_desk_staff(janela.db, number)
    if actor is None:
        raise click.ClickException(f"no active desk staff uses {number} (village chiefs use SMS only)")
    return actor.id


@click.command("set-password")
@with_appcontext
@click.option("--phone", required=True, help="The staff member's phone number.")
@click.password_option("--password", help="At least 10 characters; asked for when not given.")
def set_password_command(phone: str, password: str) -> None:
    """Set a desk staff member's password (and lift a lock)."""
    try:
        set_password(current_app.extensions["janela"].db, _actor_id(phone), password)
    except InvalidData as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    click.echo("Password set.")


@click.command("send-code")
@with_appcontext
@click.option("--phone", required=True, help="The staff member's phone number.")
def send_code_command(phone: str) -> None:
    """Send a one-time set-up code by SMS; the staff member sets a password at /desk/set-up."""
    from desk.texts import DeskTexts

    janela = current_app.extensions["janela"]
    config = current_app.config
    policy = LockPolicy(
        config["DESK_LOCK_FAILURES"], config["DESK_LOCK_MINUTES"], config["DESK_SETUP_CODE_MINUTES"]
    )
    try:
        send_setup_code(
            janela.db,
            _actor_id(phone),
            DeskTexts(janela.settings.country),
            janela.settings.sms_policy,
            policy,
            janela.settings.default_language,
        )
    except NotFound as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Set-up code sent by SMS; it works once, for {policy.setup_code_minutes} minutes.")


def register(group: AppGroup) -> None:
    """Add the desk's staff commands to the `flask staff` group."""
    group.add_command(set_password_command)
    group.add_command(send_code_command)
