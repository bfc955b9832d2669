"""`flask inbound`: inbound SMS that could not be processed after every attempt."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

inbound_group = AppGroup("inbound", help="Inbound SMS that processing gave up on: list and retry.")


@inbound_group.command("failed")
def inbound_failed() -> None:
    """List inbound SMS that failed every attempt, with their last error."""
    from registry.inbound import inbound_given_up
    from registry.phones import mask_phone

    given_up = inbound_given_up(current_app.extensions["janela"].db)
    for m in given_up:
        click.echo(
            f"{m.id}\t{m.received_at:%Y-%m-%d %H:%M}\t{mask_phone(m.sender)}\t{m.attempts} attempts\t"
            f"{m.last_error or '-'}"
        )
    click.echo(f"{len(given_up)} inbound message(s) given up.")


@inbound_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
def inbound_retry(ids: tuple[int, ...]) -> None:
    """Try given-up inbound SMS again (all of them when no id is named), after fixing the cause."""
    from registry.inbound import retry_inbound
    from workers.queues import enqueue_inbound

    janela = current_app.extensions["janela"]
    retried = retry_inbound(janela.db, list(ids) or None)
    enqueue_inbound(janela.queues, retried)
    click.echo(f"{len(retried)} inbound message(s) queued again.")
