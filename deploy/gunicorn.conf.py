"""gunicorn settings for janela's web process: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

bench.hop_load serves janela and its yardstick with this same file, so what it measures is this.
"""

from __future__ import annotations

import gc
from typing import Any

bind = "0.0.0.0:8000"
workers = 4
# Threads, not sync workers: a sync worker takes one connection at a time, so whenever its hop
# waits (on the database for a call's first hop, on a busy core) the callers behind it wait in
# the listen queue; and it closes every connection after one answer, so each hop paid a new TCP
# connection. Measured at the 370 hops/s peak: see README "What makes a hop cheap".
worker_class = "gthread"
threads = 4
# A connection kept open serves the next request without a new TCP handshake (a load balancer
# in front keeps its own connections to the workers open).
keepalive = 5
# A hop answers within HOP_DEADLINE (5 s) whatever it waits on (DeadlineRunner); a worker whose
# main loop stays silent this long is killed and started again.
timeout = 20
graceful_timeout = 20
accesslog = "-"
# %(U)s is the path without its query string: the webhook token never reaches the access log.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


def post_worker_init(_worker: Any) -> None:
    """Leave the app's own objects out of every later garbage collection."""
    # A full collection walks every object the app made at start (about 180,000), in which the
    # worker answers nobody; frozen, they are never walked again. Collected first, so no garbage
    # is frozen with them.
    gc.collect()
    gc.freeze()
