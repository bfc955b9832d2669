"""`flask prune`: remove records that have outlived their retention (the sweep does it daily)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("prune")
@with_appcontext
@click.option(
    "--days", type=int, default=None, help="Keep session ends, lookups and inbound texts this long."
)
@click.option("--sms-days", type=int, default=None, help="Keep SMS sent or given up on this long.")
def prune_command(days: int | None, sms_days: int | None) -> None:
    """Delete old session ends, ID lookups, handled inbound texts, finished SMS and empty contacts."""
    from registry.retention import Retention, prune_old_records

    config = current_app.config
    retention = Retention(
        days=days if days is not None else config["RETENTION_DAYS"],
        sms_days=sms_days if sms_days is not None else config["SMS_RETENTION_DAYS"],
    )
    if retention.days < 1 or retention.sms_days < 1:
        raise click.BadParameter("retention is counted in whole days, at least 1")
    report = prune_old_records(current_app.extensions["janela"].db, retention)
    click.echo(
        f"Removed {report.session_ends} session ends, {report.id_lookups} ID lookups, "
        f"{report.inbound} inbound texts, {report.outbox} SMS and {report.contacts} contacts "
        f"(kept {retention.days} days, SMS {retention.sms_days}). Case timelines and the audit log stay."
    )
