"""The zero-setup development stack that ``make run`` starts.

Runs three child processes from the project root and supervises them:

- ``web``: ``manage.py runserver 127.0.0.1:$PORT`` (PORT defaults to 8000),
- ``worker``: ``celery -A config worker`` on the default, ingest and kpi queues,
- ``beat``: ``celery -A config beat`` with its schedule file in ``.run/``.

Their output is relayed line by line, each line prefixed with the child's name. Once the web
server answers ``/healthz`` a banner says where Hearth is, how to log in and which database and
broker are in use. Ctrl-C (or SIGTERM / SIGHUP) stops all three; if one exits on its own, the
others are stopped too and this program exits non-zero, naming it.

Each child runs in its own session, so its own process group. Ctrl-C in the terminal therefore
reaches only this supervisor, which stops each child and then its group as a whole (SIGTERM, up
to 10 s, SIGKILL): the dev server's autoreloader and Celery's prefork pool fork grandchildren
that must not outlive ``make run``.

Run it as ``python -m config.devstack`` with the virtualenv's Python: the ``celery`` executable is
taken from the same ``bin/`` directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"

DEMO_PASSWORD = "hearth-demo"  # noqa: S105 - the documented demo password, seeded by seed_demo
DEMO_LOGINS = (
    ("admin", "admin@demo.hearth"),
    ("manager", "manager@demo.hearth"),
    ("moderator", "moderator@demo.hearth"),
    ("exec (viewer)", "exec@demo.hearth"),
)

STOP_GRACE_SECONDS = 10.0  # SIGTERM first; whatever is left after this gets SIGKILL
HEALTH_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.5

# Talk to our own server directly, whatever http_proxy says.
_LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Console:
    """Writes whole lines to stdout from several threads without interleaving them."""

    COLOURS = {"web": "32", "worker": "34", "beat": "35", "devstack": "1"}

    def __init__(self, stream: IO[bytes], width: int) -> None:
        self._stream = stream
        self._width = width
        self._lock = threading.Lock()
        self._colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def _prefix(self, name: str) -> bytes:
        label = f"{name:<{self._width}} |"
        if self._colour:
            label = f"\033[{self.COLOURS.get(name, '0')}m{label}\033[0m"
        return f"{label} ".encode()

    def line(self, name: str, text: bytes) -> None:
        """One line of a child's output (bytes as the child wrote them, without the newline)."""
        with self._lock:
            try:
                self._stream.write(self._prefix(name) + text + b"\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):  # our reader went away; keep supervising
                pass

    def say(self, text: str) -> None:
        """A message from the supervisor itself, one prefixed line per line of text."""
        for part in text.splitlines() or [""]:
            self.line("devstack", part.encode())


@dataclass
class Child:
    """One supervised process and the thread that relays its output."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    relay: threading.Thread | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], console: Console) -> None:
        # The arguments are built in this file from fixed strings and our own executables.
        self.proc = subprocess.Popen(  # noqa: S603
            self.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.relay = threading.Thread(
            target=self._relay, args=(self.proc.stdout, console), name=f"relay-{self.name}"
        )
        self.relay.daemon = True
        self.relay.start()

    def _relay(self, pipe: IO[bytes], console: Console) -> None:
        with pipe:
            for raw in iter(pipe.readline, b""):
                console.line(self.name, raw.rstrip(b"\r\n"))

    @property
    def pid(self) -> int:
        assert self.proc is not None, "child not started"
        return self.proc.pid

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal_group(self, signum: int) -> None:
        """Signal the child's whole process group (its pid is the group id: new session)."""
        with contextlib.suppress(ProcessLookupError):  # the whole group has already gone
            os.killpg(self.pid, signum)

    def group_alive(self) -> bool:
        """True while the child or anything it forked into its group is still running."""
        if self.exit_code() is None:
            return True
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else: still counts as running
            return True
        return True


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def probe_health(url: str) -> tuple[int, dict[str, object]] | None:
    """The status and JSON body of ``/healthz``, or None while nothing answers yet."""
    try:
        with _LOCAL_OPENER.open(url, timeout=2) as response:
            return response.status, _json_object(response.read())
    except urllib.error.HTTPError as error:  # 503 (a dependency is down) still means "up"
        return error.code, _json_object(error.read())
    except (urllib.error.URLError, HTTPException, OSError):
        return None


def _json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _shorten(path: str | Path) -> str:
    """A path relative to the checkout when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def describe_backends() -> tuple[str, str]:
    """Human descriptions of the database and broker the settings resolve to (no passwords)."""
    try:
        from django.conf import settings

        database = settings.DATABASES["default"]
        broker_url: str = settings.CELERY_BROKER_URL
        transport_options: dict[str, str] = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    except Exception as error:  # display only; the children report real configuration errors
        return f"unknown ({error})", "unknown"

    engine = database["ENGINE"]
    if engine.endswith("sqlite3"):
        db_text = f"SQLite file {_shorten(database['NAME'])}"
    elif engine.endswith("postgresql"):
        host = database.get("HOST") or "local socket"
        port = f":{database['PORT']}" if database.get("PORT") else ""
        db_text = f"PostgreSQL database {database['NAME']!r} on {host}{port}"
    else:
        db_text = engine

    if broker_url.startswith("filesystem"):
        folder = Path(transport_options.get("data_folder_in", RUN_DIR / "broker")).parent
        broker_text = f"filesystem folder {_shorten(folder)}/ (kombu; no Redis needed)"
    elif broker_url.startswith(("redis", "rediss")):
        parts = urlsplit(broker_url)
        broker_text = f"Redis at {parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"
    else:
        broker_text = urlsplit(broker_url).scheme or "unknown"
    return db_text, broker_text


def banner(url: str, status: int, health: dict[str, object]) -> str:
    db_text, broker_text = describe_backends()
    checks = ", ".join(f"{key} {value}" for key, value in health.items() if key != "status")
    health_text = f"HTTP {status}" + (f" ({checks})" if checks else "")
    if status != 200:
        health_text += "  <- something is down; see the log above"
    width = max(len(email) for _, email in DEMO_LOGINS)
    rule = "=" * 72
    lines = [
        rule,
        f"Hearth is running at {url}",
        "",
        f"Demo logins, password {DEMO_PASSWORD}:",
        *(f"  {email:<{width}}  {role}" for role, email in DEMO_LOGINS),
        "",
        f"Settings  {os.environ['DJANGO_SETTINGS_MODULE']}",
        f"Database  {db_text}",
        f"Broker    {broker_text}",
        f"Health    {health_text}",
        "",
        "The web server reloads on code changes; the worker and beat do not.",
        "Ctrl-C stops everything.",
        rule,
    ]
    return "\n".join(lines)


class Supervisor:
    """Starts the children, announces the stack once it answers, and stops it as one."""

    def __init__(self, children: list[Child], console: Console, port: int) -> None:
        self.children = children
        self.console = console
        self.url = f"http://127.0.0.1:{port}/"
        self.failed: Child | None = None  # the child that exited on its own, if one did
        self._signals: list[int] = []
        self._wake = threading.Event()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signum)
        self._wake.set()

    def run(self, env: dict[str, str]) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            for child in self.children:
                child.start(env, self.console)
            return self._supervise()
        finally:
            # Also on an unexpected exception here: never leave orphans behind.
            self._stop_all()

    def _supervise(self) -> int:
        started = time.monotonic()
        announced = False
        while True:
            if self._signals:
                name = signal.Signals(self._signals[0]).name
                self.console.say(
                    f"{name} received: stopping web, worker and beat (up to "
                    f"{STOP_GRACE_SECONDS:.0f} s; Ctrl-C again kills them at once)..."
                )
                return 0
            for child in self.children:
                code = child.exit_code()
                if code is not None:
                    self.console.say(
                        f"{child.name} exited on its own ({describe_exit(code)}); "
                        "stopping the others. Its output above says why."
                    )
                    self.failed = child
                    return 1
            if not announced:
                answer = probe_health(f"{self.url}healthz")
                if answer is not None:
                    self.console.say(banner(self.url, *answer))
                    announced = True
                elif time.monotonic() - started > HEALTH_TIMEOUT_SECONDS:
                    self.console.say(
                        f"{self.url}healthz did not answer within {HEALTH_TIMEOUT_SECONDS:.0f} s; "
                        "still waiting on the web server (see its output). Ctrl-C stops everything."
                    )
                    announced = True
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _stop_all(self) -> None:
        """SIGTERM, a grace period, then SIGKILL to whatever is left of each process group.

        SIGTERM goes to the child itself first, not its whole group: Celery's main process then
        does a warm shutdown of its pool (signalling the pool directly kills tasks mid-flight)
        and runserver's reloader takes its server process down. Anything still in a group once
        its leader has gone gets SIGTERM too.
        """
        running = [child for child in self.children if child.proc and child.group_alive()]
        for child in running:
            assert child.proc is not None
            child.proc.send_signal(signal.SIGTERM)
        swept: set[str] = set()
        signals_before = len(self._signals)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        reason = f"did not stop within {STOP_GRACE_SECONDS:.0f} s"
        while any(child.group_alive() for child in running):
            for child in running:
                if child.name not in swept and child.exit_code() is not None:
                    child.signal_group(signal.SIGTERM)
                    swept.add(child.name)
            if len(self._signals) > signals_before:
                reason = "was still stopping at the second signal"
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        for child in running:
            if child.group_alive():
                self.console.say(f"{child.name} {reason}; killing it.")
                child.signal_group(signal.SIGKILL)
        for child in self.children:
            if child.proc is not None:
                child.proc.wait()
            if child.relay is not None:
                child.relay.join(timeout=2)  # flush what they said last


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like runserver itself: a socket in TIME_WAIT does not count as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def build_children(port: int, env: dict[str, str]) -> list[Child]:
    python = sys.executable
    celery = str(Path(sys.executable).parent / "celery")
    worker = [celery, "-A", "config", "worker", "-Q", "default,ingest,kpi"]
    worker += ["--concurrency", "2", "--loglevel", "INFO"]
    if not env.get("REDIS_URL"):
        # kombu's filesystem transport has no broadcast exchange to mingle or gossip over.
        worker += ["--without-mingle", "--without-gossip"]
    beat = [celery, "-A", "config", "beat", "--loglevel", "INFO"]
    beat += ["--schedule", str(RUN_DIR / "celerybeat-schedule")]
    return [
        Child("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}"]),
        Child("worker", worker),
        Child("beat", beat),
    ]


def main() -> int:
    console = Console(sys.stdout.buffer, width=len("devstack"))

    port_text = os.environ.get("PORT", "8000")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        console.say(f"PORT must be a TCP port number, not {port_text!r}.")
        return 2
    port = int(port_text)
    if not port_is_free(port):
        console.say(f"Port {port} on 127.0.0.1 is already in use. Try: PORT={port + 1} make run")
        return 2
    if not (Path(sys.executable).parent / "celery").exists():
        console.say(f"No celery next to {sys.executable}; run `make install` first.")
        return 2

    RUN_DIR.mkdir(exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # children's lines arrive as they are written

    supervisor = Supervisor(build_children(port, env), console, port)
    code = supervisor.run(env)
    if supervisor.failed is not None:
        console.say(f"Stopped everything because {supervisor.failed.name} exited unexpectedly.")
    else:
        console.say("All stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
