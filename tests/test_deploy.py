"""The production gunicorn settings (deploy/gunicorn.conf.py), served for real."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import redis

from bench.hop_load import GUNICORN_CONF, ROOT, bench_env, prepare, start_gunicorn, stop
from conversations.session import LOCK
from tests.faults.servers import free_port

pytestmark = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgresql") and os.environ.get("REDIS_URL")),
    reason="gunicorn's workers need PostgreSQL and Redis servers (DATABASE_URL, REDIS_URL)",
)
FORM = {"serviceCode": "*384*123#", "phoneNumber": "+85512000001", "networkCode": "1"}
HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    env = bench_env()
    prepare(env)
    port = free_port()
    process = start_gunicorn("app:create_app()", port, 1, env)
    yield port
    stop(process)


def hop(connection: http.client.HTTPConnection, session_id: str, text: str) -> http.client.HTTPResponse:
    connection.request("POST", "/ussd", urlencode({**FORM, "sessionId": session_id, "text": text}), HEADERS)
    response = connection.getresponse()
    response.read()
    return response


def test_the_next_hop_comes_on_the_same_connection(served: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    first = hop(connection, "deploy-keep", "")
    assert first.status == 200 and not first.will_close
    socket_used = connection.sock
    second = hop(connection, "deploy-keep", "1")
    assert second.status == 200
    assert connection.sock is socket_used  # not closed and opened again
    connection.close()


def test_a_hop_that_waits_does_not_hold_the_callers_behind_it(served: int) -> None:
    # Another hop of this session holds its lock for 3 s: this hop waits for it, inside the worker.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.set(LOCK.format("deploy-held"), "another hop", px=3000)
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(
            hop, http.client.HTTPConnection("127.0.0.1", served, timeout=10), "deploy-held", ""
        )
        time.sleep(0.3)
        started = time.monotonic()
        other = hop(http.client.HTTPConnection("127.0.0.1", served, timeout=10), "deploy-free", "")
        took = time.monotonic() - started
        assert other.status == 200
        assert took < 1.0, f"the free caller waited {took:.1f} s behind the held one"
        assert not held.done()
        assert held.result(timeout=10).status == 200


def test_a_worker_freezes_what_it_made_at_start() -> None:
    code = (
        "import gc, runpy, sys; conf = runpy.run_path(sys.argv[1]); "
        "before = gc.get_freeze_count(); conf['post_worker_init'](None); "
        "print(before, gc.get_freeze_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(GUNICORN_CONF)], cwd=ROOT, capture_output=True, text=True
    )
    before, after = (int(n) for n in out.stdout.split())
    assert before == 0 and after > 1000
