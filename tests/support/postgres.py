"""Start a real, throwaway PostgreSQL server for tests.

``running_postgres()`` yields a connection URL for a fresh database. If
``JURIST_TEST_DATABASE_URL`` is set, that URL is yielded instead and nothing is started.
Otherwise ``initdb`` creates a cluster in a temporary directory, the server listens on
127.0.0.1 at a free port, and on exit it is stopped and the directory deleted.

Note: ``tests/conftest.py`` removes every ``JURIST_*`` variable for each test, so the
override is only seen when this is entered before that fixture runs (e.g. from a
session-scoped fixture) or outside pytest.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

USER = "jurist"
DBNAME = "jurist_test"
ENV_URL = "JURIST_TEST_DATABASE_URL"
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}


def _version_key(bin_dir: str) -> tuple[int, ...]:
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``."""
    candidates = ["/usr/lib/postgresql/15/bin"]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if all(os.access(Path(candidate, name), os.X_OK) for name in ("initdb", "pg_ctl")):
            return Path(candidate)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with "
        "`apt-get install postgresql` (or set JURIST_TEST_DATABASE_URL)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_user() -> str | None:
    """The account to run the server as: None means "as ourselves" (not root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root, and initdb refuses root; no `postgres` user exists "
            "(`apt-get install postgresql` creates it)"
        ) from None
    return "postgres"


def _run(cmd: list[str], user: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    override = os.environ.get(ENV_URL)
    if override:
        yield override
        return
    bin_dir, user = find_bin_dir(), _server_user()
    tmp = Path(tempfile.mkdtemp(prefix="jurist-pg-"))
    data, log = tmp / "data", tmp / "postgres.log"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        if user is not None:
            shutil.chown(tmp, user=user, group=user)
        init = [str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", f"--username={USER}"]
        done = _run([*init, "--encoding=UTF8", "--locale=C", "--no-sync"], user, tmp)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        port = _free_port()
        options = ["-c", "listen_addresses=127.0.0.1", "-p", str(port), "-k", str(tmp)]
        for name, value in SERVER_SETTINGS.items():
            options += ["-c", f"{name}={value}"]
        start = [*pg_ctl, "-w", "-t", "60", "-l", str(log), "-o", shlex.join(options), "start"]
        done = _run(start, user, tmp)
        started = True  # even a failed start may leave a postmaster behind
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else "(no log file)"
            raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{server_log}")
        createdb = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DBNAME]
        done = _run(createdb, None, tmp)
        if done.returncode != 0:
            raise RuntimeError(f"createdb failed:\n{done.stdout}\n{done.stderr}")
        yield f"postgresql://{USER}@127.0.0.1:{port}/{DBNAME}"
    finally:
        if started:
            _run([*pg_ctl, "-m", "immediate", "-w", "stop"], user, tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def reset_postgres(url: str) -> None:
    """Empty the database at ``url`` (drop and recreate its public schema)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
