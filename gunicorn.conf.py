"""gunicorn settings for ``make serve`` / ``gunicorn -c gunicorn.conf.py wsgi:application``.

Every value can be overridden from the environment (``GUNICORN_WORKERS=4``) or the
command line. See docs/deploy.md.
"""

import multiprocessing
import os
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request that takes longer than this is a bug or a hung backend: kill the worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycling by memory, not by count (docs/deploy.md): every GUNICORN_MEMORY_CHECK_EVERY
# (100) requests a worker reads its resident memory and, over
# GUNICORN_MAX_WORKER_MEMORY_MB (0: never), finishes the request and exits; the master
# starts a fresh one. A slow leak never becomes an outage, and a healthy worker keeps its
# caches: recycling every 2,000 requests restarted each worker every second or two at
# 2,000 requests a second, and a cached page then ran at half its rate.
# GUNICORN_MAX_REQUESTS brings counting back (0, the default: off).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
MAX_WORKER_MEMORY_MB = int(os.environ.get("GUNICORN_MAX_WORKER_MEMORY_MB", "512"))
MEMORY_CHECK_EVERY = max(1, int(os.environ.get("GUNICORN_MEMORY_CHECK_EVERY", "100")))
# Load the app once in the master; each worker drops the database pool it inherited
# right after the fork (storefront.db registers that with os.register_at_fork).
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"

# Metrics (storefront.metrics, /_metrics): every worker writes its counters to files in
# this folder and a scrape of any worker adds them up. Set here, in the master, before
# the app (and prometheus_client) is loaded; a fresh folder unless the operator names one.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="storefront-metrics-")
    os.environ["STOREFRONT_METRICS_DIR_MADE"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# One access line per request: the app writes its own (storefront.logs.access, JSON with
# the shop, request id, route, SQL count), so gunicorn's is off unless the app's is
# (STOREFRONT_ACCESS_LOG=false) or GUNICORN_ACCESSLOG names a file, or "-" for stdout.
_app_access_log = os.environ.get("STOREFRONT_ACCESS_LOG", "true").strip()  # read as JSON
_gunicorn_access_log = "-" if _app_access_log in ("false", "0") else ""
accesslog = os.environ.get("GUNICORN_ACCESSLOG", _gunicorn_access_log) or None
errorlog = "-"
# Shop slug and request id on every access-log line (set by the shop middleware).
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms shop=%({storefront.shop}e)s '
    'rid=%({storefront.request_id}e)s "%(a)s"'
)
SHIPPED_ACCESS_LOG_FORMAT = access_log_format
# Forwarding, set explicitly (see docs/deploy.md). The app decides what proxy headers to
# believe (STOREFRONT_TRUSTED_PROXY_COUNT, werkzeug's ProxyFix); gunicorn believes none:
# no scheme from X-Forwarded-Proto, no SCRIPT_NAME or PATH_INFO from request headers
# (a SCRIPT_NAME header once rewrote every link of a cached home page).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
forwarder_headers = ""
secure_scheme_headers: dict[str, str] = {}
# Headers with underscores (e.g. SCRIPT_NAME sent as a header) are dropped, not mapped.
header_map = "drop"


def post_request(worker, req, environ, resp):  # gunicorn's hook signature
    """Recycle this worker once it holds more than ``MAX_WORKER_MEMORY_MB``."""
    count = getattr(worker, "storefront_requests", 0) + 1
    worker.storefront_requests = count
    if MAX_WORKER_MEMORY_MB > 0 and count % MEMORY_CHECK_EVERY == 0:
        recycle_if_over(worker, worker_rss_mb)


def recycle_if_over(worker, rss_mb, limit_mb: int | None = None) -> bool:
    """Over the limit, the worker finishes its request and exits (as ``max_requests``
    makes it do: ``alive`` off); the master forks a fresh one. ``rss_mb`` is called."""
    limit = MAX_WORKER_MEMORY_MB if limit_mb is None else limit_mb
    used = rss_mb()
    if limit <= 0 or used <= limit or not worker.alive:
        return False
    worker.log.info("worker %s holds %d MiB (limit %d): recycled", worker.pid, used, limit)
    worker.alive = False
    return True


def worker_rss_mb() -> float:
    """This process's resident memory in MiB (Linux's /proc; elsewhere its peak)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def nworkers_changed(server, new_value, old_value):  # gunicorn's hook signature
    """Tell the app how many workers serve it, before it is loaded (``-w`` on the command
    line and TTIN included): production refuses per-process rate-limit counts with more
    than one (storefront.config)."""
    os.environ["STOREFRONT_WEB_PROCESSES"] = str(new_value)


def pre_fork(server, worker):  # gunicorn's hook signature
    """Freeze what the master preloaded: workers then share those pages instead of copying
    them on the first garbage collection, and never rescan them."""
    import gc

    gc.collect()
    gc.freeze()


def on_starting(server):  # gunicorn's hook signature
    """Start the metrics afresh: a folder the operator named may hold a previous run's
    files. Those of processes still alive stay (a ``tenantctl worker`` given the same
    folder, so the web's scrape shows its jobs too)."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        pid = name.removesuffix(".db").rpartition("_")[2]
        if not name.endswith(".db") or (pid.isdigit() and _alive(int(pid))):
            continue
        os.remove(os.path.join(folder, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()  # the master's own preloaded files go: it serves nothing


def child_exit(server, worker):  # gunicorn's hook signature
    """A worker is gone (recycled, killed): its live gauges leave the scrapes; its
    counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # gunicorn's hook signature
    """Remove the metrics folder made for this run (one the operator named stays)."""
    made = os.environ.get("STOREFRONT_METRICS_DIR_MADE")
    if made and made == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import shutil

        shutil.rmtree(made, ignore_errors=True)


def _access_logger():
    """gunicorn's logger with a cheaper access line: the line of ``access_log_format``
    built from the few values it shows, where gunicorn builds a dict of every header
    and environ entry first (about 4x the time: ~30 against ~120 µs a line, measured;
    the cached page itself takes about 140). Another format goes gunicorn's own way."""
    from gunicorn.glogging import Logger

    class AccessLogger(Logger):
        def access(self, resp, req, environ, request_time):
            if not self.access_log_enabled:
                return
            if self.cfg.access_log_format != SHIPPED_ACCESS_LOG_FORMAT:
                return super().access(resp, req, environ, request_time)
            get = environ.get
            status = str(resp.status).split(None, 1)[0]
            sent = getattr(resp, "sent", None) or "-"
            ms = request_time.seconds * 1000 + request_time.microseconds // 1000
            uri, agent = _quoted(get("RAW_URI")), _quoted(get("HTTP_USER_AGENT") or "-")
            shop, rid = get("storefront.shop") or "-", get("storefront.request_id") or "-"
            self.access_log.info(
                f'{get("REMOTE_ADDR", "-")} "{get("REQUEST_METHOD")} {uri} '
                f'{get("SERVER_PROTOCOL")}" {status} {sent} {ms}ms '
                f'shop={_quoted(shop)} rid={_quoted(rid)} "{agent}"'
            )

    def _quoted(value):  # gunicorn's escaping of a value
        return value.replace('"', '\\"') if isinstance(value, str) else value

    return AccessLogger


logger_class = _access_logger()
