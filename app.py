"""janela's HTTP edges (USSD webhooks, health, simulator) and the all-in-one demo start."""

from __future__ import annotations

import hmac
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, abort, current_app, jsonify, request
from rq import Queue
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

import config as janela_config
from conversations.deadline import DeadlinePassed, DeadlineRunner
from conversations.engine import Engine as UssdEngine
from conversations.errors import BadCallback, SessionBusy
from conversations.gateways import AfricasTalkingUssd
from conversations.i18n import N_, Translator
from conversations.session import Reply
from conversations.settings import Settings
from embedded_redis import EmbeddedRedis
from phonetext.cleaning import clamp_int, clean_line, clean_text
from phonetext.encoding import Budget
from registry import services
from registry.db import make_engine, make_sessionmaker
from registry.dispatch import dispatch_after_commit
from registry.errors import InvalidData
from registry.export_jobs import ExportPolicy
from registry.inbound import MAX_TEXT, InboundStatus, count_inbound, store_inbound
from registry.outbox import SmsPolicy, record_delivery
from registry.phones import mask_phone, normalise_phone
from registry.settings import Deadlines
from workers.gateways import SmsGateway, make_gateway
from workers.queues import QUEUE_NAMES, Delivery, ExportJobs, enqueue_exports, enqueue_inbound, enqueue_sms
from workers.run import run_worker
from workers.spool import Spool, Spooled

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
    hops: DeadlineRunner
    spool: Spool
    export_policy: ExportPolicy = field(default_factory=ExportPolicy)
    export_jobs: ExportJobs = field(default_factory=ExportJobs)
    embedded_redis: EmbeddedRedis | None = None  # stopped at exit by the process that started it


def janela() -> Janela:
    """Return the current app's shared clients."""
    return current_app.extensions["janela"]


def instance_dir() -> str:
    """Return where local state lives (SQLite file, embedded Redis): INSTANCE_DIR or ./instance."""
    return str(Path(os.environ.get("INSTANCE_DIR") or Path(__file__).resolve().parent / "instance").resolve())


def connect_redis(url: str, instance: Path) -> tuple[redis.Redis, EmbeddedRedis | None]:
    """Connect to REDIS_URL, or start an embedded Redis under instance/ when it is empty."""
    if url:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        return client, None
    embedded = EmbeddedRedis(instance)
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
    engine = make_engine(
        app.config["DATABASE_URL"],
        statement_timeout_ms=app.config["DB_STATEMENT_TIMEOUT_MS"],
        pool_timeout=app.config["DB_POOL_TIMEOUT"],
    )
    db = make_sessionmaker(engine)
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
        programme_sms_per_day=app.config["PROGRAMME_SMS_PER_DAY"],
        alerts_per_unknown_phone=app.config["ALERTS_PER_UNKNOWN_PHONE"],
    )
    delivery = Delivery(
        max_attempts=app.config["SMS_MAX_ATTEMPTS"],
        retry_delays=app.config["SMS_RETRY_DELAYS"],
        stale_after=app.config["STALE_AFTER"],
        sweep_grace=app.config["SWEEP_GRACE"],
        sweep_interval=app.config["SWEEP_INTERVAL"],
        unknown_window=app.config["SMS_UNKNOWN_WINDOW"],
        batch_size=app.config["SMS_BATCH_SIZE"],
    )
    queues = {name: Queue(name, connection=client) for name in QUEUE_NAMES}
    export_policy = ExportPolicy(
        keep=timedelta(hours=app.config["EXPORT_KEEP_HOURS"]),
        stale_after=timedelta(seconds=app.config["EXPORT_STALE_AFTER"]),
        max_attempts=app.config["EXPORT_MAX_ATTEMPTS"],
    )
    export_jobs = ExportJobs(
        timeout=app.config["EXPORT_TIMEOUT"],
        max_attempts=app.config["EXPORT_MAX_ATTEMPTS"],
        retry_delays=app.config["EXPORT_RETRY_DELAYS"],
    )
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
        hops=DeadlineRunner(app.config["HOP_DEADLINE"], app.config["HOP_THREADS"]),
        spool=Spool(client, instance / "spool.jsonl"),
        export_policy=export_policy,
        export_jobs=export_jobs,
        embedded_redis=embedded,
    )

    def hand_on(kind: str, ids: list[int], not_before: dict[int, datetime], texts: dict[int, str]) -> None:
        if kind == "sms":
            # An announcement's rows carry their slot: they wait for it rather than go at once; rows
            # of one text written together go in batches, one request to the provider each.
            enqueue_sms(queues, ids, delivery.rq_retry, not_before, delivery.batch_size, texts)
        elif kind == "inbound":
            enqueue_inbound(queues, ids)
        elif kind == "export":
            enqueue_exports(queues, [(export_id, 0) for export_id in ids], export_jobs)

    dispatch_after_commit(db, hand_on)

    # The development server and gunicorn log every request line, query string and all.
    for name in ("werkzeug", "gunicorn.access"):
        access_log = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) for f in access_log.filters):
            access_log.addFilter(TokenRedactor())
    app.before_request(_check_token)
    if app.config["PROXY_HOPS"]:
        # Behind a load balancer the caller's address is in X-Forwarded-For, set by that many proxies.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
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


class TokenRedactor(logging.Filter):
    """Blank the webhook token in request lines, so an access log never holds it."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = self._TOKEN.sub(r"\1***", message), None
        return True


def _check_token() -> None:
    """Refuse webhooks that do not carry WEBHOOK_TOKEN, or come from outside WEBHOOK_SOURCES."""
    if request.endpoint not in WEBHOOKS:
        return
    sources = current_app.config["WEBHOOK_SOURCES"]
    if sources and not _from_any(request.remote_addr, sources):
        log.warning(
            "webhook refused: not from the gateway's addresses", extra={"source": request.remote_addr}
        )
        abort(403)
    token = current_app.config["WEBHOOK_TOKEN"]
    if not token:
        return
    given = request.args.get("token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        abort(403)


def _from_any(address: str | None, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


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
        reply = app.hops.run(lambda: app.ussd.handle(hop))
    except DeadlinePassed:
        # A hung database or Redis: AT waits about 15 s, then shows the caller a network error.
        # Answer in time instead, in the session's language if Redis still has it.
        log.error("USSD hop passed its deadline", extra={"phone": mask_phone(hop.phone)})
        language = app.ussd.session_language(hop.session_id) or app.settings.default_language
        return _apology(SERVICE_DOWN, language)
    except SessionBusy:
        log.warning("USSD session busy", extra={"phone": mask_phone(hop.phone)})
        return _apology(SERVICE_DOWN, app.ussd.language_for(hop.phone))
    except Exception:
        # The caller must still get an answer in their language, never a network error.
        log.exception("USSD hop failed", extra={"phone": mask_phone(hop.phone)})
        return _apology(SERVICE_DOWN, app.ussd.language_for(hop.phone))
    return _plain(app.gateway.render(reply))


def _field(name: str, limit: int) -> str | None:
    # Control characters (a NUL above all, which PostgreSQL refuses) never get past the edge.
    return clean_line(request.form.get(name), limit) or None


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
        duration_ms=clamp_int(request.form.get("durationInMillis")),
        hops=clamp_int(request.form.get("hopsCount")),
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
        sender = normalise_phone(clean_line(request.form.get("from"), 40), janela().settings.country)
    except InvalidData:
        log.info("inbound SMS from a sender that is not a phone number ignored", extra={"id": provider_id})
        return _plain("OK: ignored, the sender is not a phone number")
    fields = {
        "id": provider_id,
        "from": sender,
        "text": clean_text(request.form.get("text"), MAX_TEXT),
        "to": _field("to", 40),
        "linkId": _field("linkId", 100),
        "networkCode": _field("networkCode", 20),
    }
    try:
        stored = store_inbound(
            janela().db,
            provider_id=provider_id,
            sender=sender,
            text=fields["text"] or "",
            to=fields["to"],
            link_id=fields["linkId"],
            network_code=fields["networkCode"],
        )
    except SQLAlchemyError:
        return _spool("inbound", fields)
    return _plain("OK" if stored else "OK: already received")


def _spool(kind: str, fields: dict[str, str | None]) -> Response:
    # The database is gone: keep what arrived and answer 200, or AT retries for a while and
    # then gives up, and the person's message is lost. The sweep stores it once the database is back.
    log.warning("database unavailable: %s callback spooled", kind, exc_info=True)
    where = janela().spool.keep(Spooled(kind, fields))
    return _plain(f"OK: kept ({where}), the database is unavailable")


def sms_delivery() -> Response:
    """Record AT's delivery report for a message; unknown ids are acknowledged and logged."""
    provider_id = _field("id", 100)
    if not provider_id:
        return _plain("Bad request: id is missing", 400)
    status = _field("status", 20) or ""
    reason = _field("failureReason", 200)
    try:
        phone: str | None = normalise_phone(_field("phoneNumber", 40) or "", janela().settings.country)
    except InvalidData:
        phone = None
    try:
        known = record_delivery(janela().db, provider_id, status, reason, phone)
    except SQLAlchemyError:
        fields = {"id": provider_id, "status": status, "failureReason": reason, "phoneNumber": phone}
        return _spool("delivery", fields)
    if not known:
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
        # Callbacks that arrived while the database was gone, waiting for the sweep.
        report["spooled"] = app.spool.waiting()
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
    embedded: EmbeddedRedis | None = None
    # A service manager or `kill` stops us with SIGTERM: leave through the same door as Ctrl-C,
    # so the worker and the embedded Redis are stopped too.
    signal.signal(signal.SIGTERM, _leave)
    # The demo comes with the phone simulator, unless this start is meant for a real gateway.
    if not any(os.environ.get(name) for name in ("SIMULATOR", "WEBHOOK_TOKEN", "AT_API_KEY", "SMS_BACKEND")):
        os.environ["SIMULATOR"] = "1"
    if not os.environ.get("REDIS_URL"):
        # One embedded server for the web process and the worker alike.
        _client, embedded = connect_redis("", instance)
        assert embedded is not None
        os.environ["REDIS_URL"] = embedded.url
    app = create_app()
    import cli

    with app.app_context():
        cli.prepare_database(app)
    worker = WorkerKeeper([sys.executable, "-m", "flask", "--app", "app", "worker"])
    worker.start()
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
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        if embedded is not None:
            embedded.stop()


class WorkerKeeper:
    """Run the demo's worker, and start it again whenever it dies, until told to stop."""

    def __init__(self, command: list[str], max_delay: float = 30.0) -> None:
        self.command = command
        self.max_delay = max_delay
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="janela-worker-keeper", daemon=True)

    def start(self) -> None:
        """Start the worker and the thread that watches it."""
        with self._lock:
            self.process = subprocess.Popen(self.command)
        self._thread.start()

    def _watch(self) -> None:
        delay = 1.0
        while not self._stopping.wait(1.0):
            with self._lock:
                process = self.process
                if process is None or process.poll() is None or self._stopping.is_set():
                    continue
                log.error(
                    "the worker stopped (exit code %s); starting it again in %.0f s",
                    process.returncode,
                    delay,
                )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command)
                self.restarts += 1
            # A worker that dies at once again (Redis still gone) waits longer each time.
            delay = min(delay * 2, self.max_delay)

    def stop(self) -> None:
        """Stop watching, then stop the worker: SIGTERM, and SIGKILL after 15 s."""
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _leave(signum: int, _frame: Any) -> None:
    """Turn SIGTERM into the KeyboardInterrupt that Ctrl-C gives, so the same clean-up runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def worker_main() -> None:
    """Run `janela-worker`: make the app once, here at the edge, and work its queues."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(create_app())


if __name__ == "__main__":
    main()
