"""The back office's coverage statistics: /desk/stats with its table, chart and downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel.dates import format_date
from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup

from conversations.case_texts import CATEGORY_NAMES
from conversations.i18n import N_
from desk.charts import bar_chart
from desk.i18n import desk_language, t, when
from desk.users import DeskUser
from desk.views import add_nav_link
from registry import services
from registry.statistics import (
    COLUMNS,
    Coverage,
    Figures,
    coverage_rows,
    export_csv,
    export_xlsx,
    read_coverage,
)

# What the chart can show of each area: (label, figure).
CHARTS: dict[str, tuple[str, Callable[[Figures], float | None]]] = {
    "households": (N_("Households"), lambda f: f.households),
    "persons": (N_("Persons"), lambda f: f.persons),
    "pending": (N_("Pre-registrations pending"), lambda f: f.pending),
    "complaints": (N_("Complaints and appeals"), lambda f: f.complaints_total),
    "in_time": (
        N_("Closed within the deadline (%)"),
        lambda f: None if f.in_time_share is None else round(f.in_time_share * 100, 1),
    ),
    "median_days": (N_("Median days to resolve"), lambda f: f.median_days),
    "escalations": (N_("Escalations"), lambda f: f.escalations),
}
LEVEL_NAMES = {
    "province": N_("Provinces"),
    "district": N_("Districts"),
    "commune": N_("Communes"),
    "village": N_("Villages"),
}


def _coverage() -> Coverage:
    janela = current_app.extensions["janela"]
    user: DeskUser = current_user  # type: ignore[assignment]
    return read_coverage(
        janela.db,
        user.actor,
        request.args.get("area") or None,
        request.args.get("period"),
        desk_language(),
        janela.settings.default_language,
        t("The whole country"),
    )


def period_label(period: str) -> str:
    """Name a period ('all', a year or 'YYYY-MM') in the page's language."""
    if period == "all":
        return t("All time")
    if len(period) == 7:
        month = date(int(period[:4]), int(period[5:]), 1)
        return format_date(month, "LLLL y", locale=desk_language())
    return period


def _programme_names() -> dict[str, str]:
    janela = current_app.extensions["janela"]
    listed = services.list_programmes(
        janela.db, janela.settings.country, desk_language(), janela.settings.default_language
    )
    return {p.code: p.name for p in listed}


def headers(coverage: Coverage) -> list[str]:
    """Return the table's column headers in the page's language."""
    names = _programme_names()
    return [
        *(t(c) for c in COLUMNS),
        *(t("Enrolled: {programme}", programme=names.get(code, code)) for code in coverage.programmes),
        *(t(CATEGORY_NAMES.get(c, c)) for c in coverage.categories),
    ]


def chart_for(coverage: Coverage, measure: str) -> str:
    """Return the SVG chart of one measure for the areas below the chosen one (or for it alone)."""
    label, figure = CHARTS[measure]
    areas = coverage.children or [coverage.area]
    bars = [(f.name, figure(f) or 0) for f in areas]
    title = t(
        "{measure}: {area}, {period}",
        measure=t(label),
        area=coverage.area.name,
        period=period_label(coverage.period),
    )
    return bar_chart(title, bars)


def _download_name(coverage: Coverage, suffix: str) -> str:
    code = coverage.area.code or "national"
    return f"coverage-{code}-{coverage.period}.{suffix}"


def add_stats_pages(blueprint: Blueprint) -> None:
    """Add the statistics page and its downloads to the desk's blueprint and navigation."""

    @blueprint.get("/stats")
    @login_required
    def stats() -> str:
        """Coverage figures of an area and the areas below it, for a period."""
        coverage = _coverage()
        measure = request.args.get("chart", "households")
        measure = measure if measure in CHARTS else "households"
        return render_template(
            "desk/stats.html",
            coverage=coverage,
            headers=headers(coverage),
            rows=coverage_rows(coverage),
            chart=Markup(chart_for(coverage, measure)),  # bar_chart escapes every text it writes
            measure=measure,
            years=sorted({p[:4] for p in coverage.periods}, reverse=True),
            charts={key: t(label) for key, (label, _figure) in CHARTS.items()},
            period_label=period_label,
            level_name=t(LEVEL_NAMES[coverage.child_level]) if coverage.child_level else "",
            refreshed=when(coverage.refreshed_at),
        )

    @blueprint.get("/stats.csv")
    @login_required
    def stats_csv() -> Response:
        """The statistics table as CSV."""
        coverage = _coverage()
        body = export_csv(headers(coverage), coverage_rows(coverage))
        return _download(body, "text/csv; charset=utf-8", _download_name(coverage, "csv"))

    @blueprint.get("/stats.xlsx")
    @login_required
    def stats_xlsx() -> Response:
        """The statistics table as an XLSX workbook."""
        coverage = _coverage()
        body = export_xlsx(headers(coverage), coverage_rows(coverage), t("Coverage"))
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return _download(body, kind, _download_name(coverage, "xlsx"))

    add_nav_link("desk.stats", N_("Statistics"), ())


def _download(body: bytes, kind: str, name: str) -> Response:
    response = Response(body, mimetype=kind.split(";")[0], content_type=kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Figures of an area, not of people, but still not for a shared laptop's cache.
    response.headers["Cache-Control"] = "no-store"
    return response
