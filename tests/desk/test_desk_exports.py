"""The desk's exports: asked on the page, answered at once, listed, downloaded by their officer only."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select, update

from conversations.i18n import Translator
from registry.db import utcnow
from registry.models import AuditEntry, ExportChunk, ExportRequest
from registry.retention import Retention, prune_old_records
from tests.desk.conftest import (
    COMMUNE_DESK,
    DISTRICT,
    SECOND_DESK,
    ask_export_on_page,
    db,
    download_links,
    signed_in,
)
from tests.jobs import run_jobs

km = Translator("km")


def exports(app: Flask) -> list[ExportRequest]:
    """Return every export row."""
    with db(app)() as session:
        return list(session.scalars(select(ExportRequest).order_by(ExportRequest.id)))


def test_asking_answers_at_once_and_the_list_shows_it_waiting_then_ready(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    asked = ask_export_on_page(client, area="1701", format="xlsx", since="2020-01-01")
    assert asked.status_code == 302 and asked.location.endswith("/desk/exports")
    waiting = client.get("/desk/exports").get_data(as_text=True)
    assert km("Your export is being prepared. It appears here when it is ready.") in waiting
    assert km("Waiting") in waiting and 'http-equiv="refresh"' in waiting
    assert download_links(client) == []
    run_jobs(desk_app)
    ready = client.get("/desk/exports").get_data(as_text=True)
    assert km("Ready") in ready and 'http-equiv="refresh"' not in ready
    (link,) = download_links(client)
    response = client.get(link)
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="janela-1701-2020-01-01-')
    body = response.get_data()
    assert body[:2] == b"PK" and len(body) == int(response.headers["Content-Length"])
    with db(desk_app)() as session:
        downloads = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_download")).all()
        assert [d.target for d in downloads] == ["export:1701"]


def test_a_double_click_is_one_export_and_one_job(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    ask_export_on_page(client, area="1701", format="csv", sheet="persons")
    again = ask_export_on_page(client, area="1701", format="csv", sheet="persons")
    assert again.status_code == 302
    told = client.get("/desk/exports").get_data(as_text=True)
    assert km("This export was already asked for: it is in the list below.") in told
    assert len(exports(desk_app)) == 1
    assert desk_app.extensions["janela"].queues["exports"].count == 1


def test_only_the_officer_who_asked_downloads_anyone_else_is_refused_and_recorded(desk_app: Flask) -> None:
    client = signed_in(desk_app, COMMUNE_DESK)
    ask_export_on_page(client, area="170101", format="csv", sheet="cases")
    run_jobs(desk_app)
    (link,) = download_links(client)
    colleague = signed_in(desk_app, SECOND_DESK)  # same commune, not theirs
    assert download_links(colleague) == []
    assert colleague.get(link).status_code == 404
    assert signed_in(desk_app, DISTRICT).get(link).status_code == 404
    assert client.get(link).status_code == 200
    with db(desk_app)() as session:
        refused = session.scalars(select(AuditEntry.target).where(AuditEntry.action == "refused_read")).all()
    assert refused == [link.replace("/desk/exports/", "export_file:").removesuffix("/file")] * 2


def test_an_expired_export_is_told_in_the_officer_language_and_pruned(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    ask_export_on_page(client, area="1701", format="xlsx")
    run_jobs(desk_app)
    (link,) = download_links(client)
    with db(desk_app).begin() as session:
        session.execute(update(ExportRequest).values(expires_at=utcnow() - timedelta(minutes=1)))
    told = km("This export has expired and its file was deleted. Ask for it again.")
    assert told in client.get(link, follow_redirects=True).get_data(as_text=True)
    assert download_links(client) == []
    pruned = prune_old_records(db(desk_app), Retention())
    assert pruned.exports == 1
    with db(desk_app)() as session:
        assert session.scalar(select(func.count()).select_from(ExportChunk)) == 0
    assert exports(desk_app)[0].status == "expired"
    page = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert told in page and km("Expired") in page
    assert prune_old_records(db(desk_app), Retention()).exports == 0  # pruned once


def test_an_export_not_ready_yet_is_not_offered(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    ask_export_on_page(client, area="1701")
    (row,) = exports(desk_app)
    page = client.get(f"/desk/exports/{row.id}/file", follow_redirects=True).get_data(as_text=True)
    assert km("This export is not ready yet.") in page


def test_a_period_that_ends_before_it_starts_and_a_missing_token_are_refused(desk_app: Flask) -> None:
    client = signed_in(desk_app, DISTRICT)
    bad = ask_export_on_page(client, area="1701", since="2026-02-01", until="2026-01-01")
    assert bad.status_code == 302 and bad.location.endswith("/desk/io")
    assert km("The period ends before it starts.") in client.get("/desk/io").get_data(as_text=True)
    assert client.post("/desk/io/export", data={"area": "1701"}).status_code == 400
    assert exports(desk_app) == []
