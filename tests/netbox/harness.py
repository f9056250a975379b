"""A real NetBox for the tests: installed, migrated once, served on loopback, reset per test.

Layout (outside the repository, kept between runs): CACHE/venv-VERSION (pip install
netbox==VERSION into a Python >= 3.12), CACHE/root/conf/configuration.py (NETBOX_ROOT), a
PostgreSQL template database holding the migrated schema plus a superuser and an API token.
Each test gets a fresh copy of the template (CREATE DATABASE ... TEMPLATE: about a second),
so tests never see each other's objects. PostgreSQL and Redis are Debian's, on loopback;
`make test` as root installs and starts them. Run `python -m tests.netbox.harness` to set up
(and time) the cache by hand.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

VERSION = "4.7.3"
CACHE = Path(os.environ.get("RSCCTL_NETBOX_CACHE") or (
    "/var/cache/rscctl-tests/netbox" if os.geteuid() == 0
    else Path.home() / ".cache/rscctl-tests/netbox"))
VENV = CACHE / f"venv-{VERSION}"
ROOT = CACHE / "root"
TEMPLATE_DB = f"rscctl_nb_tpl_{VERSION.replace('.', '_')}"
LIVE_DB = os.environ.get("RSCCTL_NETBOX_LIVE_DB", "rscctl_nb_live")  # one per concurrent run
DB_USER = "rscctl_nb"
DB_PASSWORD = "rscctl-tests-only"  # a loopback-only database of test data
REDIS_TASKS_DB, REDIS_CACHE_DB = 14, 15
ADMIN, ADMIN_PASSWORD = "admin", "rscctl-tests-only"
# A v2 token (nbt_KEY.PLAINTEXT) with a fixed value, made in the template database.
TOKEN_KEY, TOKEN_PLAIN = "rscctltest01", "0123456789abcdef0123456789abcdef01234567"
TOKEN = f"nbt_{TOKEN_KEY}.{TOKEN_PLAIN}"
PEPPER = "rscctl-tests-only-pepper-rscctl-tests-only-pepper-0123456789"

CONFIG = f"""\
ALLOWED_HOSTS = ['*']
DEBUG = False  # DEBUG keeps every SQL query of a request in memory: far slower bulk writes
DATABASES = {{'default': {{'NAME': {LIVE_DB!r}, 'USER': {DB_USER!r}, 'PASSWORD': {DB_PASSWORD!r},
    'HOST': '127.0.0.1', 'PORT': '5432', 'CONN_MAX_AGE': 0}}}}
REDIS = {{
    'tasks': {{'HOST': '127.0.0.1', 'PORT': 6379, 'DATABASE': {REDIS_TASKS_DB}, 'SSL': False}},
    'caching': {{'HOST': '127.0.0.1', 'PORT': 6379, 'DATABASE': {REDIS_CACHE_DB}, 'SSL': False}},
}}
SECRET_KEY = 'rscctl-tests-only-secret-key-rscctl-tests-only-secret-key-0123456789'
API_TOKEN_PEPPERS = {{1: {PEPPER!r}}}
CENSUS_REPORTING_ENABLED = False
RELEASE_CHECK_URL = None
LOGIN_REQUIRED = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440
import os as _os
if _os.environ.get('RSCCTL_NB_DB'):
    DATABASES['default']['NAME'] = _os.environ['RSCCTL_NB_DB']
"""

MAKE_ADMIN = f"""
from users.models import Token, User
u = User.objects.create_superuser({ADMIN!r}, 'admin@example.invalid', {ADMIN_PASSWORD!r})
t = Token(user=u, version=2, key={TOKEN_KEY!r}, write_enabled=True, token={TOKEN_PLAIN!r})
t.save()
"""


class HarnessError(RuntimeError):
    """Setting up NetBox failed: the message names the step and its output."""


def _log(msg: str) -> None:
    print(f"[netbox harness] {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], step: str, env: dict[str, str] | None = None,
         input_text: str | None = None) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, input=input_text,
                       check=False)
    if r.returncode != 0:
        raise HarnessError(f"{step} failed ({' '.join(cmd[:4])} ...):\n{r.stdout[-3000:]}"
                           f"\n{r.stderr[-3000:]}")
    return r.stdout


def find_python() -> str:
    """A Python >= 3.12 (NetBox 4.7's floor): RSCCTL_NETBOX_PYTHON, PATH, then pyenv's."""
    cands = [os.environ.get("RSCCTL_NETBOX_PYTHON", "")]
    cands += [shutil.which(f"python3.{m}") or "" for m in (13, 12)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    cands += sorted((str(p / "bin/python") for p in pyenv.glob("3.1[2-9]*")), reverse=True)
    for c in cands:
        if c and Path(c).exists():
            ok = subprocess.run([c, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
                                check=False).returncode == 0
            if ok:
                return c
    raise HarnessError("no Python >= 3.12 for NetBox: install one (pyenv install 3.12) or set "
                       "RSCCTL_NETBOX_PYTHON")


def psql(sql: str, db: str = "postgres") -> str:
    """SQL as the postgres superuser (peer authentication: the tests run as root)."""
    cmd = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return _run(cmd, f"psql {sql[:60]!r}")


def env(db: str = LIVE_DB) -> dict[str, str]:
    e = dict(os.environ, NETBOX_ROOT=str(ROOT), RSCCTL_NB_DB=db,
             DJANGO_SETTINGS_MODULE="netbox.settings", PYTHONDONTWRITEBYTECODE="")
    e.pop("PYTHONPATH", None)
    return e


def netbox_cmd(*args: str) -> list[str]:
    return [str(VENV / "bin/netbox"), *args]


def install() -> None:
    marker = VENV / ".installed"
    if marker.exists():
        return
    t = time.monotonic()
    if VENV.exists():
        shutil.rmtree(VENV)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    _run([find_python(), "-m", "venv", str(VENV)], "venv")
    _run([str(VENV / "bin/pip"), "install", "-q", f"netbox=={VERSION}"], "pip install netbox")
    marker.write_text(VERSION)
    _log(f"installed netbox {VERSION} in {time.monotonic() - t:.0f} s")


def write_config() -> None:
    conf = ROOT / "conf/configuration.py"
    conf.parent.mkdir(parents=True, exist_ok=True)
    if not conf.exists() or conf.read_text() != CONFIG:
        conf.write_text(CONFIG)
    for d in ("media", "reports", "scripts", "static"):
        (ROOT / d).mkdir(exist_ok=True)


def _exists(db: str) -> bool:
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'").strip() == "1"


def template() -> None:
    """The migrated database with the admin and the token, made once per NetBox version."""
    if _exists(TEMPLATE_DB) and psql(
            f"SELECT datallowconn FROM pg_database WHERE datname = '{TEMPLATE_DB}'"
    ).strip() == "f":
        return  # finished: it is sealed (no connections) only at the very end
    t = time.monotonic()
    if psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_USER}'").strip() != "1":
        psql(f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'")
    psql(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {TEMPLATE_DB} OWNER {DB_USER}")
    _run(netbox_cmd("migrate", "--no-input"), "netbox migrate", env(TEMPLATE_DB))
    _run(netbox_cmd("collectstatic", "--no-input"), "netbox collectstatic", env(TEMPLATE_DB))
    _run(netbox_cmd("nbshell"), "admin and token", env(TEMPLATE_DB), MAKE_ADMIN)
    psql(f"ALTER DATABASE {TEMPLATE_DB} ALLOW_CONNECTIONS false")
    _log(f"migrated the template database in {time.monotonic() - t:.0f} s")


def reset(source: str = TEMPLATE_DB) -> None:
    """A fresh live database, copied from the template (or a snapshot), and an empty cache."""
    psql(f"DROP DATABASE IF EXISTS {LIVE_DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {LIVE_DB} OWNER {DB_USER} TEMPLATE {source}")
    _run(["redis-cli", "-n", str(REDIS_CACHE_DB), "FLUSHDB"], "redis flush")


def snapshot(name: str) -> str:
    """The live database copied as `name` (NetBox holds no connection between requests), for
    later reset(name): a state several tests start from, made once."""
    db = f"rscctl_nb_snap_{name}"
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{LIVE_DB}'")
    psql(f"CREATE DATABASE {db} OWNER {DB_USER} TEMPLATE {LIVE_DB}")
    return db


def drop(db: str) -> None:
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def services() -> None:
    """PostgreSQL and Redis must answer on loopback (`make test` starts them as root)."""
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode != 0:
        raise HarnessError("PostgreSQL is not running on 127.0.0.1:5432: run `make test` as "
                           "root (it starts it with pg_ctlcluster) or start it yourself")
    r = subprocess.run(["redis-cli", "ping"], capture_output=True, text=True, check=False)
    if r.stdout.strip() != "PONG":
        raise HarnessError("Redis is not running on 127.0.0.1:6379: run `make test` as root "
                           "(it starts redis-server --daemonize yes) or start it yourself")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """NetBox under gunicorn on 127.0.0.1:port."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """Gunicorn's quick shutdown (SIGINT): no 30 s grace for idle keep-alive workers."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start(workers: int = 2) -> Server:
    port = free_port()
    log = CACHE / "gunicorn.log"
    out = log.open("wb")
    # NetBox's own gunicorn.py (threads 3, max_requests 5000, as a deployment uses it); the
    # flags override its bind, its workers (2n+1 = 5 there: too many for 2 shared cores) and
    # its 120 s timeout (a bulk request of 500 cables takes longer on a loaded machine).
    conf = next(VENV.glob("lib/python3*/site-packages/netbox/_data/contrib/gunicorn.py"))
    proc = subprocess.Popen(
        [str(VENV / "bin/gunicorn"), "--config", str(conf), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "600", "netbox.wsgi"],
        env=env(), stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"gunicorn exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status/", timeout=5) as r:
                if r.status in (200, 403):
                    return Server(proc, url, log)
        except OSError as exc:
            if getattr(exc, "code", None) in (401, 403):
                return Server(proc, url, log)
        time.sleep(0.5)
    proc.kill()
    raise HarnessError(f"NetBox did not answer on {url} in 120 s:\n{log.read_text()[-3000:]}")


def setup() -> None:
    """Everything but the server: install, configure, migrate (each step only once)."""
    services()
    install()
    write_config()
    template()


if __name__ == "__main__":
    t0 = time.monotonic()
    setup()
    reset()
    srv = start()
    _log(f"ready at {srv.url} after {time.monotonic() - t0:.0f} s; stopping")
    srv.stop()
