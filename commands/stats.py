"""`flask stats`: an area's coverage figures and its children's, as a table or CSV."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("stats")
@with_appcontext
@click.option("--area", "area_code", default=None, help="Area code; none: the whole country by province.")
@click.option("--period", default="all", help="all, a year (2026) or a month (2026-11).")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV to standard output.")
@click.option("--language", default="en", help="Language of the headers and area names.")
@click.option("--refresh", is_flag=True, help="Count the registry again first (the workers do it hourly).")
def stats_command(area_code: str | None, period: str, as_csv: bool, language: str, refresh: bool) -> None:
    """Print the coverage statistics of an area and of the areas below it."""
    from conversations.case_texts import CATEGORY_NAMES
    from conversations.i18n import Translator
    from registry.errors import NotFound
    from registry.scoping import Actor
    from registry.statistics import COLUMNS, coverage_rows, export_csv, read_coverage, refresh_statistics

    janela = current_app.extensions["janela"]
    if language not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(
            f"one of {', '.join(current_app.config['LANGUAGES'])}", param_hint="--language"
        )
    t = Translator(language)
    if refresh:
        report = refresh_statistics(janela.db, janela.settings.zone)
        click.echo(
            f"Counted {report.figures} figures ({report.changed} changed) in {report.seconds:.1f} s.",
            err=True,
        )
    # The command line is an operator's, as `flask cases` is: it reads the whole country.
    operator = Actor(0, "national_admin", "flask stats", "", None)
    try:
        coverage = read_coverage(
            janela.db,
            operator,
            area_code,
            period,
            language,
            janela.settings.default_language,
            t("The whole country"),
        )
    except NotFound as exc:
        raise click.ClickException(f"no area {area_code}") from exc
    headers = [
        *(t(c) for c in COLUMNS),
        *(t("Enrolled: {programme}", programme=code) for code in coverage.programmes),
        *(t(CATEGORY_NAMES.get(c, c)) for c in coverage.categories),
    ]
    rows = coverage_rows(coverage)
    if as_csv:
        sys.stdout.buffer.write(export_csv(headers, rows).removeprefix("\ufeff".encode()))
        return
    if coverage.refreshed_at is None:
        click.echo("Not counted yet: run with --refresh, or wait for a worker to count.", err=True)
    else:
        click.echo(f"Counted at {coverage.refreshed_at:%Y-%m-%d %H:%M} UTC; period {coverage.period}.")
    cells = [[h for h in headers], *[["–" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
