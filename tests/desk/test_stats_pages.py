"""The statistics page, its chart and downloads, the workers' refresh and `flask stats`."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from desk.charts import bar_chart
from registry.db import utcnow
from registry.statistics import refresh_statistics
from registry.summaries import StatsRefresh
from tests.desk.conftest import (
    COMMUNE_DESK,
    DISTRICT,
    OTHER_VILLAGE,
    complaint,
    db,
    preregistration,
    signed_in,
    token,
)
from tests.registry.test_statistics import NOW, ZONE, hand_counted
from workers.stats_refresh import LEASE_KEY, refresh_when_due

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def counted(desk_app: Flask) -> Flask:
    hand_counted(desk_app)
    refresh_statistics(db(desk_app), ZONE, now=NOW)
    return desk_app


def choose(client: FlaskClient, language: str) -> None:
    """Switch the desk's language through its form, CSRF token and all."""
    client.post(
        "/desk/language",
        data={"language": language, "next": "/desk/stats", "csrf_token": token(client, "/desk/stats")},
    )


def chart_of(page: str) -> ET.Element:
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    return ET.fromstring(page[start:end])


def test_the_chart_is_well_formed_svg_with_a_bar_per_area() -> None:
    svg = ET.fromstring(bar_chart("Households <& 'x'>", [("ភូមិ A", 10), ("B & C", 5), ("D", 0)]))
    assert svg.tag == f"{SVG}svg"
    bars = svg.findall(f"{SVG}g")
    assert len(bars) == 3
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in bars]  # type: ignore[union-attr]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert [g.find(f"{SVG}text").text for g in bars] == ["ភូមិ A", "B & C", "D"]  # type: ignore[union-attr]
    assert svg.find(f"{SVG}title").text == "Households <& 'x'>"  # type: ignore[union-attr]
    assert ET.fromstring(bar_chart("Empty", [])).tag == f"{SVG}svg"


def test_a_district_officer_sees_its_communes_side_by_side_in_a_table_and_a_chart(counted: Flask) -> None:
    client = signed_in(counted, DISTRICT)
    page = client.get("/desk/stats?period=all").get_data(as_text=True)
    assert "Angkor Chum" in page or "អង្គរជុំ" in page
    chart = chart_of(page)
    labels = [g.find(f"{SVG}text").text for g in chart.findall(f"{SVG}g")]  # type: ignore[union-attr]
    assert len(labels) == 7 and labels[0] == "ចារឈូក"  # the district's seven communes, in Khmer
    assert 'href="/desk/stats?area=170101' in page
    # In English, the chart of complaints: Char Chhuk filed 4.
    choose(client, "en")
    english = client.get("/desk/stats?chart=complaints&area=1701").get_data(as_text=True)
    assert "Coverage statistics" in english and "Complaints and appeals" in english
    bars = chart_of(english).findall(f"{SVG}g")
    assert bars[0].findall(f"{SVG}text")[1].text == "4"
    assert "Char Chhuk" in english and "66.7" in english  # 2 of 3 closed in time


def test_an_officer_cannot_read_another_areas_statistics(counted: Flask) -> None:
    client = signed_in(counted, COMMUNE_DESK)
    assert client.get("/desk/stats").status_code == 200
    assert client.get("/desk/stats?area=17010101").status_code == 200
    for outside in ("1701", "171201", OTHER_VILLAGE, "nope"):
        assert client.get(f"/desk/stats?area={outside}").status_code == 404
        assert client.get(f"/desk/stats.csv?area={outside}").status_code == 404


def test_the_downloads_open_back_with_the_same_figures(counted: Flask) -> None:
    client = signed_in(counted, DISTRICT)
    choose(client, "pt")
    response = client.get("/desk/stats.csv?period=2026-11")
    assert response.headers["Content-Disposition"] == 'attachment; filename="coverage-1701-2026-11.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert rows[0][:4] == ["Código", "Área", "Agregados familiares", "Pessoas"]
    assert rows[1][:4] == ["1701", "Angkor Chum", "2", "5"]  # November: A's 1 and B's 1 household
    assert rows[2][:2] == ["170101", "Char Chhuk"]
    book = load_workbook(io.BytesIO(client.get("/desk/stats.xlsx?period=2026-11").data))
    sheet = book.active
    assert sheet is not None and sheet.title == "Cobertura"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["Código", "Área", "Agregados familiares"]
    assert values[1][:4] == ["1701", "Angkor Chum", 2, 5]
    share = rows[0].index("Encerradas dentro do prazo (%)")
    assert values[1][share] == pytest.approx(66.7) and rows[1][share] == "66.7"
    # One column for November's programme (IDPoor), one per category filed (3).
    assert len(rows[0]) == 16 and rows[0][12].startswith("Inscritos: ")
    assert rows[1][12:] == ["1", "1", "2", "1"]


def test_a_worker_refreshes_the_figures_once_they_are_old(desk_app: Flask) -> None:
    complaint(desk_app)
    preregistration(desk_app)
    janela = desk_app.extensions["janela"]
    refresh_when_due(desk_app)
    with db(desk_app)() as session:
        first = session.get(StatsRefresh, "coverage")
        assert first is not None and first.refreshed_at is not None
        at = first.refreshed_at
    # The next minute's look leaves fresh figures alone, even with the Redis lease gone.
    janela.redis.delete(LEASE_KEY)
    assert refresh_when_due(desk_app) is None
    with db(desk_app)() as session:
        assert session.scalar(select(StatsRefresh.refreshed_at)) == at
    client = signed_in(desk_app, COMMUNE_DESK)
    choose(client, "en")
    page = client.get("/desk/stats").get_data(as_text=True)
    assert "Figures as counted at" in page
    assert utcnow() - at < timedelta(minutes=5)


def test_the_page_says_when_nothing_was_counted_yet(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    choose(client, "en")
    assert "Not counted yet" in client.get("/desk/stats").get_data(as_text=True)


def test_flask_stats_prints_the_table_and_csv(counted: Flask) -> None:
    runner = counted.test_cli_runner()
    table = runner.invoke(args=["stats"])
    assert table.exit_code == 0, table.output
    assert "Siem Reap" in table.output and "Households" in table.output
    out = runner.invoke(args=["stats", "--area", "1701", "--csv", "--period", "2026-11"])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.output)))
    assert rows[1][:4] == ["1701", "Angkor Chum", "2", "5"]
    missing = runner.invoke(args=["stats", "--area", "999"])
    assert missing.exit_code != 0 and "no area 999" in missing.output
    refreshed = runner.invoke(args=["stats", "--refresh", "--area", "17010101"])
    assert refreshed.exit_code == 0 and "Trapeang Thom" in refreshed.output
