"""`flask announce`: send an announcement to the chiefs or household phones of an area or of villages."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.announcements import AUDIENCES, Draft, preview_announcement, request_key_of, send_announcement
from registry.errors import InvalidData, NotFound
from registry.phones import normalise_phone
from registry.staff_auth import find_desk_staff


@click.command("announce")
@with_appcontext
@click.option("--area", "area_code", help="Every village of this area (a district, commune or village code).")
@click.option(
    "--village",
    "village_codes",
    multiple=True,
    help="A village's code; repeat it for each village (instead of --area).",
)
@click.option("--to", "audience", type=click.Choice(AUDIENCES), required=True)
@click.option("--programme", "programme_code", help="Only households enrolled in this programme.")
@click.option("--text-km", default="", help="The announcement in Khmer.")
@click.option("--text-pt", default="", help="The announcement in Portuguese.")
@click.option("--text-en", default="", help="The announcement in English.")
@click.option("--by", "by_phone", required=True, help="The phone of the desk officer who sends it.")
@click.option("--yes", is_flag=True, help="Send; without it only the count and the cost are shown.")
def announce_command(
    area_code: str | None,
    village_codes: tuple[str, ...],
    audience: str,
    programme_code: str | None,
    text_km: str,
    text_pt: str,
    text_en: str,
    by_phone: str,
    yes: bool,
) -> None:
    """Show who an announcement reaches and its cost in SMS segments; send it with --yes."""
    if bool(area_code) == bool(village_codes):
        raise click.UsageError("give --area or one or more --village, not both")
    janela = current_app.extensions["janela"]
    settings = janela.settings
    try:
        actor = find_desk_staff(janela.db, normalise_phone(by_phone, settings.country))
    except InvalidData as exc:
        raise click.ClickException(f"{by_phone} is not a phone number") from exc
    if actor is None:
        raise click.ClickException(f"no active desk staff uses {by_phone}")
    texts = {k: v for k, v in (("km", text_km), ("pt", text_pt), ("en", text_en)) if v.strip()}
    draft = Draft(area_code or "", audience, texts, programme_code, village_codes or None)
    policy, default = settings.sms_policy, settings.default_language
    try:
        preview = preview_announcement(janela.db, actor, draft, policy, default)
        if preview.villages:
            names = ", ".join(f"{village.code} {village.name}" for village in preview.villages)
            click.echo(f"{len(preview.villages)} villages: {names}")
        click.echo(
            f"{preview.recipients} recipients ({preview.opted_out} opted out, left out), "
            f"{preview.segments} SMS segments"
        )
        if not yes:
            return
        key = request_key_of(actor.id, draft)
        rate = current_app.config["ANNOUNCE_RATE"]
        sent = send_announcement(janela.db, actor, draft, key, policy, default, rate)
    except InvalidData as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    except NotFound as exc:
        if area_code:
            raise click.ClickException(f"{area_code} is not an area of {by_phone}") from exc
        outside = str(exc).removeprefix("village:")
        message = f"village {outside} is not in the area of {by_phone}: nothing sent"
        raise click.ClickException(message) from exc
    if sent.created:
        click.echo(f"announcement {sent.announcement_id} queued to {sent.recipients} phones")
    else:
        click.echo(f"announcement {sent.announcement_id} was sent already; nothing sent again")
