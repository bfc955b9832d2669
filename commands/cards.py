"""`flask cards pdf`: print social-protection ID cards for a person, a household or a village."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from conversations.i18n import Translator
from registry.cards import CardLabels, cards_pdf, issue_cards
from registry.errors import NotFound

cards_group = AppGroup("cards", help="Social-protection ID cards: print them as a PDF of A4 sheets.")


@cards_group.command("pdf")
@click.option("--person", "person_id", type=int, help="One person's card (its database id).")
@click.option("--household", "household_id", type=int, help="Every card of a household.")
@click.option("--village", "village_code", help="Every card of a village never printed before.")
@click.option("--language", help="The language of the card's words (default: DEFAULT_LANGUAGE).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def pdf_command(
    person_id: int | None,
    household_id: int | None,
    village_code: str | None,
    language: str | None,
    output: Path,
) -> None:
    """Print cards to a PDF and record each printing (a reprint says so on the card)."""
    if sum(x is not None for x in (person_id, household_id, village_code)) != 1:
        raise click.UsageError("give exactly one of --person, --household, --village")
    janela = current_app.extensions["janela"]
    language = language or janela.settings.default_language
    try:
        cards = issue_cards(
            janela.db,
            None,
            language,
            person_id=person_id,
            household_id=household_id,
            village_code=village_code,
        )
    except NotFound as exc:
        raise click.ClickException(f"nothing to print: no {exc} with a social-protection ID") from exc
    output.write_bytes(cards_pdf(cards, CardLabels().translated(Translator(language))))
    reprints = sum(card.reprint for card in cards)
    click.echo(f"{len(cards)} cards ({reprints} reprints) written to {output}")
