"""`flask registry template|import|export`: the commune form and the area exports from the command line."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from conversations.i18n import Translator
from registry.consolidation import COLUMN_LABELS, build_template, header_names, import_form
from registry.errors import InvalidData, NotFound
from registry.exports import COMMAND_LINE, SHEETS, export_area
from registry.phones import normalise_phone
from registry.scoping import Actor
from registry.staff_auth import find_desk_staff

registry_group = AppGroup("registry", help="The commune enrolment form: template, import, export.")


def _janela() -> Any:
    return current_app.extensions["janela"]


def _actor(phone: str) -> Actor:
    try:
        number = normalise_phone(phone, _janela().settings.country)
    except InvalidData as exc:
        raise click.ClickException(f"{phone} is not a phone number") from exc
    actor = find_desk_staff(_janela().db, number)
    if actor is None:
        raise click.ClickException(f"no active desk staff uses {number}")
    return actor


def _language(language: str | None) -> str:
    chosen = language or current_app.config["DEFAULT_LANGUAGE"]
    if chosen not in current_app.config["LANGUAGES"]:
        raise click.ClickException(f"{chosen} is not one of {', '.join(current_app.config['LANGUAGES'])}")
    return str(chosen)


def _headers() -> dict[str, str]:
    return header_names(Translator(language) for language in current_app.config["LANGUAGES"])


@registry_group.command("template")
@with_appcontext
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--language", help="The headers' language (default: DEFAULT_LANGUAGE).")
@click.option("--by", "by", help="Only this officer's villages in the village list.")
def template_command(output: Path, language: str | None, by: str | None) -> None:
    """Write the standard enrolment form (XLSX) a commune fills offline."""
    chosen = _language(language)
    actor = _actor(by) if by else None
    janela = _janela()
    output.write_bytes(build_template(janela.db, Translator(chosen), janela.settings.country, actor, chosen))
    click.echo(f"Wrote {output}.")


@registry_group.command("import")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by", required=True, help="The district, province or national officer importing.")
@click.option("--skip-duplicates", is_flag=True, help="Leave out the rows that may already be registered.")
@click.option("--check", "check_only", is_flag=True, help="Check the file and report; import nothing.")
def import_command(path: Path, by: str, skip_duplicates: bool, check_only: bool) -> None:
    """Import a commune's filled form: all rows or none; the same file twice imports once."""
    from registry.consolidation import check_import

    janela = _janela()
    actor = _actor(by)
    content = path.read_bytes()
    country = janela.settings.country
    try:
        if check_only:
            report = check_import(janela.db, actor, content, _headers(), country)
            imported = None
        else:
            outcome = import_form(
                janela.db, actor, content, path.name, _headers(), country, skip_duplicates=skip_duplicates
            )
            report, imported = outcome.report, outcome.imported
    except NotFound as exc:
        raise click.ClickException("only district, province and national officers import forms") from exc
    for problem in report.problems:
        column = COLUMN_LABELS.get(problem.column, "")
        click.echo(
            f"line {problem.line}" + (f", {column}" if column else "") + f": {problem.problem}", err=True
        )
    if report.problems:
        raise click.ClickException(f"{len(report.problems)} problems: nothing imported")
    for duplicate in report.duplicates:
        click.echo(
            f"line {duplicate.line}: {duplicate.full_name} may already be person {duplicate.person_id}"
            f" ({duplicate.sp_id or 'no ID'})"
        )
    if report.already is not None:
        done = report.already
        click.echo(f"Already imported on {done.at:%Y-%m-%d %H:%M} UTC by {done.staff_name}: nothing changed.")
    elif imported is not None:
        click.echo(
            f"Imported {imported.households} households, {imported.persons} persons "
            f"({imported.duplicates} possible duplicates flagged), {imported.requests} programme requests "
            f"for the district to decide: import {imported.id}."
        )
    else:
        click.echo(
            f"{report.rows} rows in {report.households} households can be imported"
            f" ({report.requests} programme requests)."
        )


@registry_group.command("export")
@with_appcontext
@click.option(
    "--area",
    "area",
    required=True,
    help="The code of a province, district, commune or village, or the country's (KH) for all of it.",
)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (YYYY-MM-DD).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--sheet", type=click.Choice(list(SHEETS)), default="persons", help="The table a CSV holds.")
@click.option("--language", help="The headers' and names' language (default: DEFAULT_LANGUAGE).")
@click.option("--by", "by", help="Export as this officer (their area only); default: the whole registry.")
def export_command(
    area: str,
    since: Any,
    until: Any,
    output: Path,
    sheet: str,
    language: str | None,
    by: str | None,
) -> None:
    """Export an area's households, persons, pre-registrations, enrolments and cases (XLSX, or one as CSV)."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        raise click.ClickException("the output must end in .xlsx or .csv")
    chosen = _language(language)
    janela = _janela()
    first: date | None = since.date() if since else None
    last: date | None = until.date() if until else None
    # Written beside the output and renamed at the end: a failed export leaves no half file.
    handle, partial = tempfile.mkstemp(dir=output.resolve().parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            export = export_area(
                janela.db,
                _actor(by) if by else COMMAND_LINE,
                area,
                Translator(chosen),
                chosen,
                out,
                country=janela.settings.country,
                fmt=fmt,
                since=first,
                until=last,
                sheet=sheet,
                zone=janela.settings.zone,
            )
        os.replace(partial, output)
    except NotFound as exc:
        raise click.ClickException(f"no area {area} to export") from exc
    except InvalidData as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    click.echo(f"Wrote {output}: " + ", ".join(f"{k} {v}" for k, v in export.counts.items()))
