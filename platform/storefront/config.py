"""Platform configuration: defaults, then the instance file, then STOREFRONT_* env, then code.

Defaults first, then ``instance/application.cfg.py``, then environment variables (for
twelve-factor deployments), then the ``config`` mapping tests and tools pass to
``create_app``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Config, Flask

from . import redisconn

ENV_PREFIX = "STOREFRONT"
INSTANCE_CONFIG_FILE = "application.cfg.py"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class ConfigError(RuntimeError):
    """The platform cannot start with this configuration; the message says why in one line."""


class Defaults:
    """Values safe to commit. Secrets are deliberately absent (see ``finalize``)."""

    ENVIRONMENT = "production"  # "development" generates a local secret key; see finalize()
    SECRET_KEY = None
    DATABASE_URL = None  # None: SQLite file in the instance folder (the embedded default)
    # The name shop rows use for the database above; a shop whose row names another is
    # not served here (it lives on another cluster, or is moving there).
    DATABASE_NAME = "main"
    REDIS_URL = None  # None: in-process SimpleCache and in-memory rate limits
    TENANTS_DIR = None  # None: ./tenants
    PLANS_FILE = None  # None: plans.toml in the instance folder (storefront.plans)
    TRUSTED_PROXY_COUNT = 0  # X-Forwarded-* is ignored unless this is > 0
    PREFERRED_URL_SCHEME = "https"
    REGISTRY_POLL_SECONDS = 2.0  # how often a worker looks for tenantctl changes
    REGISTRY_LRU_SIZE = 10_000  # hosts kept in each worker's in-process registry
    REGISTRY_UNKNOWN_SIZE = 4_096  # unknown hosts each worker remembers (never shared)
    TEMPLATE_CACHE_SIZE = 10_000  # compiled templates kept per worker (LRU; ~16 KB each)
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLITE_BUSY_TIMEOUT_MS = 5_000
    MYSQL_POOL_RECYCLE = 280  # below MariaDB/MySQL's usual wait_timeout floor
    MYSQL_PING_IDLE_SECONDS = 1.0  # ping a pooled connection idle longer than this
    CACHE_DEFAULT_TIMEOUT = 300
    STATIC_URL_CACHE_SECONDS = 300  # fingerprinted asset URLs kept per shop (not in dev)
    SHOP_PAGE_CACHE = True  # anonymous catalog pages, 60 s, per shop (off in development)
    MAIL_BACKEND = "console"  # "file" in tests/demo (MAIL_FILE_PATH), "smtp" in production
    MAIL_DEFAULT_SENDER = "no-reply@storefront.invalid"
    PRODUCTS_PER_PAGE = 12
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    RATELIMIT_LOGIN = "10 per minute"
    # The JSON API: per client (an API key, an account, else an address) and per shop.
    API_RATE_LIMIT = "600 per minute"
    API_RATE_LIMIT_SHOP = "6000 per minute"
    MAIL_PER_RECIPIENT = "3 per 15 minutes"  # account mails (confirm, reset) per address
    # Storefront and API searches that reach the index: per client and per shop.
    SEARCH_RATE_LIMIT = "60 per minute"
    SEARCH_RATE_LIMIT_SHOP = "1200 per minute"
    # Who answers searches: "database" (the index in this database) or "module:Class".
    SEARCH_BACKEND = "database"
    SEARCH_MAX_RESULTS = 1000  # products a search reads and ranks; beyond, it says so
    # Webhook deliveries (webhooks/network.py): the whole of one (lookup, connect, TLS,
    # send, answer) ends after this long, and at most this much of the answer is read.
    WEBHOOK_DEADLINE_SECONDS = 10.0
    WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024
    # Networks a receiver may sit in although they are not public (CIDRs, e.g. a private
    # deployment's own receivers); empty: only globally routable addresses.
    WEBHOOK_ALLOWED_NETWORKS: tuple[str, ...] = ()
    WEBHOOK_CA_FILE: str | None = None  # None: certifi's roots (as httpx); else this PEM
    # "inline": outbox rows run in the web process (mails after the response, webhooks on
    # JOBS_THREADS threads of their own); "redis": by `tenantctl worker` (storefront/jobs).
    JOBS_BACKEND = "inline"
    JOBS_THREADS = 4  # inline: webhook threads per process, one delivery per shop at a time
    JOBS_PER_SHOP = 2  # outbox rows of one shop running at once, across all workers
    OUTBOX_KEEP_DAYS = 90  # delivered mails and webhooks are deleted after this (prune-outbox)
    OUTBOX_SWEEP_SECONDS = 5.0  # inline jobs: a thread per process runs what is due
    LOW_STOCK_THRESHOLD = 3  # the daily low-stock digest lists products at or below it
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # A body larger than this is refused (413) before it is read: uploads and JSON alike.
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    RATELIMIT_ENABLED = True
    # How many processes serve pages with this config (gunicorn.conf.py sets it from its
    # worker count; 0: none, as in tenantctl). None: unknown, so perhaps several, and
    # production then refuses rate-limit counts kept in one process (see finalize).
    WEB_PROCESSES: int | None = None
    # Stripe's API address: its own by default; the tests point it at a local fake.
    STRIPE_API_BASE: str | None = None
    # Billing of shops by the platform (storefront.billing, docs/operators.md): the
    # platform's own Stripe secret key and its webhook endpoint's signing secret (none:
    # no billing, every shop as before), the days a shop stays open after a failed
    # payment, and where an owner returns from Stripe's hosted pages.
    BILLING_STRIPE_SECRET_KEY: str | None = None
    BILLING_STRIPE_WEBHOOK_SECRET: str | None = None
    BILLING_GRACE_DAYS = 7
    # Custom domains (tenancy/verification.py): what a shop's domain must point at, the
    # resolver to ask ("host:port"; the system's when None), how long a domain whose
    # records broke keeps serving before it lapses, and how long an unproven claim holds
    # a name against other shops (a DNS proof takes it from such a claim at any time).
    DOMAIN_CNAME_TARGET: str | None = None
    DOMAIN_TARGET_ADDRESSES: tuple[str, ...] = ()
    DNS_RESOLVER: str | None = None
    DNS_TIMEOUT = 3.0
    DOMAIN_GRACE_HOURS = 72
    DOMAIN_CLAIM_HOURS = 72
    # Traces by OpenTelemetry (storefront.tracing): None follows the standard variables
    # (on when OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT is set); True or False
    # decides. Off, nothing of OpenTelemetry is imported.
    TRACING_ENABLED: bool | None = None
    # GET /_metrics (storefront.probes): from this machine, or with this bearer token.
    METRICS_TOKEN: str | None = None
    # The audit trail (storefront.audit): on unless a benchmark compares; a shop keeps its
    # entries for its own ``[audit] retention_days``, held within these bounds (the
    # maximum when it set none), then the daily prune deletes older ones.
    AUDIT_ENABLED = True
    AUDIT_RETENTION_MIN_DAYS = 90
    AUDIT_RETENTION_MAX_DAYS = 3650
    USAGE_RETENTION_DAYS = 8  # per-shop daily figures kept in Redis (storefront.metrics.usage)
    USAGE_FLUSH_SECONDS = 1.0  # each process sends its per-shop figures this often (0: at once)
    # Logs (storefront.logs): "json" (one object per line) or "text"; None: text in
    # development, JSON otherwise. ACCESS_LOG: the app's own line per request
    # (storefront.access); turn gunicorn's off when it is on (gunicorn.conf.py).
    LOG_FORMAT: str | None = None
    ACCESS_LOG = True
    # Errors to Sentry when a DSN is set (here, or the standard SENTRY_DSN variable);
    # environment defaults to ENVIRONMENT, release to the installed version.
    SENTRY_DSN: str | None = None
    SENTRY_ENVIRONMENT: str | None = None
    SENTRY_RELEASE: str | None = None
    # Shops that open themselves (storefront.signup, docs/operators.md "Sign-up"): off
    # unless switched on, and then served only on the platform's own domain, where new
    # shops live at <slug>.<PLATFORM_DOMAIN>.
    SIGNUP_ENABLED = False
    PLATFORM_DOMAIN: str | None = None
    SIGNUP_APPROVAL = False  # confirmed shops wait for `tenantctl signup approve`
    SIGNUP_CONFIRM_HOURS = 24  # the confirmation link's life; the name is held as long
    SIGNUP_PER_EMAIL = 3  # sign-ups per address per day
    SIGNUP_PER_NETWORK = 10  # sign-ups per network (IPv4 /24, IPv6 /64) per day
    SIGNUP_FAILURES = 5  # refused attempts from a network within the window below ...
    SIGNUP_FAILURE_WINDOW_MINUTES = 15
    SIGNUP_COOLDOWN_MINUTES = 30  # ... start a cooling-off this long
    SIGNUP_RESERVED_SLUGS: tuple[str, ...] = ()  # on top of the platform's own names
    SIGNUP_CHECK_RATE = "120 per minute"  # the form's name checks, per network
    SIGNUP_LOCALES = ("en_US", "de_DE", "fr_FR", "es_ES", "nl_NL")
    SIGNUP_CURRENCIES = ("EUR", "USD", "GBP", "CHF")


def build_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` layer by layer, then derive what depends on the final values."""
    app.config.from_object(Defaults)
    app.config.from_pyfile(INSTANCE_CONFIG_FILE, silent=True)
    app.config.from_prefixed_env(ENV_PREFIX)
    if overrides:
        app.config.update(overrides)
    finalize(app)


def finalize(app: Flask) -> None:
    """Derive database, cache, secret and path settings from the layered values."""
    config = app.config
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    config["TENANTS_DIR"] = str(Path(config["TENANTS_DIR"] or "tenants").resolve())
    config["SECRET_KEY"] = _secret_key(config, instance)
    # One platform-wide salt; deriving it keeps it out of every config file.
    config.setdefault(
        "SECURITY_PASSWORD_SALT",
        hmac.new(config["SECRET_KEY"].encode(), b"password-salt", hashlib.sha256).hexdigest(),
    )
    _database(config, instance)
    _cache(config)
    _shared_rate_limits(config)
    _signup(config)
    # Webhooks to loopback and private addresses: for the demo and the tests, never in
    # production (an owner's endpoint must not reach the platform's own network).
    config.setdefault("WEBHOOK_ALLOW_PRIVATE", config["ENVIRONMENT"] != "production")
    if config["ENVIRONMENT"] == "production":
        # Flask's own default (False) is always present, so this cannot be a setdefault:
        # production cookies travel over HTTPS only, full stop.
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def _signup(config: Config) -> None:
    if not config.get("SIGNUP_ENABLED"):
        return
    domain = str(config.get("PLATFORM_DOMAIN") or "").strip().lower().rstrip(".")
    if not domain or "." not in domain and domain != "localhost":
        raise ConfigError(
            "SIGNUP_ENABLED needs PLATFORM_DOMAIN, the platform's own domain (shops.example)"
        )
    config["PLATFORM_DOMAIN"] = domain


def _secret_key(config: Config, instance: Path) -> str:
    key = config.get("SECRET_KEY")
    if key:
        if config["ENVIRONMENT"] == "production" and len(str(key)) < 32:
            raise ConfigError("SECRET_KEY is too short for production: use at least 32 characters")
        return str(key)
    if config["ENVIRONMENT"] != "development" and not config.get("TESTING"):
        raise ConfigError(
            "no SECRET_KEY: set STOREFRONT_SECRET_KEY (or STOREFRONT_ENVIRONMENT=development "
            "to generate a local one)"
        )
    path = instance / SECRET_KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _database(config: Config, instance: Path) -> None:
    url = config.get("DATABASE_URL") or f"sqlite:///{instance / 'storefront.db'}"
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # storefront.db's reset event rolls back a returned connection, only when needed.
    options.setdefault("pool_reset_on_return", None)
    if url.startswith("mysql"):
        if "charset=" not in url:
            url += ("&" if "?" in url else "?") + "charset=utf8mb4"
        # No pool_pre_ping: a ping per request is a round trip per page. storefront.db
        # pings a connection only when it sat idle (MYSQL_PING_IDLE_SECONDS).
        options.setdefault("pool_recycle", config["MYSQL_POOL_RECYCLE"])
        options.setdefault("isolation_level", "READ COMMITTED")
    config["DATABASE_URL"] = url
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _cache(config: Config) -> None:
    redis_url = config.get("REDIS_URL")
    if redis_url:
        for name in ("REDIS_URL", "JOBS_REDIS_URL"):
            if config.get(name):
                try:
                    redisconn.check(config[name])
                except redisconn.RedisURLError as exc:
                    raise ConfigError(f"{name}: {exc}") from None
        config.setdefault("CACHE_TYPE", "storefront.caching.ResilientRedisCache")
        config.setdefault("CACHE_REDIS_URL", redis_url)
        # redis-py waits forever by default: a hung Redis must fail fast, not pin a worker.
        config.setdefault("CACHE_OPTIONS", {"socket_timeout": 0.5, "socket_connect_timeout": 0.5})
        # After a failure, stay off Redis this long (see storefront.caching).
        config.setdefault("CACHE_RETRY_SECONDS", 5.0)
        # Rate limits must not turn a Redis outage into an outage of the login page:
        # fail fast, then count in memory until Redis is back.
        limit_options: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        if redisconn.is_sentinel(redis_url):  # limits speaks Sentinel itself
            target = redisconn.parse_sentinel(redis_url)
            config.setdefault("RATELIMIT_STORAGE_URI", target.limits_uri())
            # Counts are read where they are written: a replica's lag would let a burst by.
            limit_options.update(db=target.db, use_replicas=False, **target.auth)
        else:
            config.setdefault("RATELIMIT_STORAGE_URI", redis_url)
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", limit_options)
        config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    else:
        config.setdefault("CACHE_TYPE", "SimpleCache")
        config.setdefault("RATELIMIT_STORAGE_URI", "memory://")


def _shared_rate_limits(config: Config) -> None:
    """Production counts login and reset attempts where every worker sees them: with
    ``memory://`` each process counts on its own, so N workers allow N times the limit."""
    if config["ENVIRONMENT"] != "production" or not config.get("RATELIMIT_ENABLED", True):
        return
    if not str(config.get("RATELIMIT_STORAGE_URI") or "").startswith("memory://"):
        return
    processes = config.get("WEB_PROCESSES")
    try:
        if processes is not None and int(processes) in (0, 1):
            return
    except (TypeError, ValueError):
        raise ConfigError(f"WEB_PROCESSES: expected a number, got {processes!r}") from None
    who = f"{processes} web processes" if processes is not None else "several web processes"
    raise ConfigError(
        f"rate limits are counted in memory (RATELIMIT_STORAGE_URI=memory://) and {who} "
        "may serve this app, each counting on its own (a login limit of 10 per minute "
        "would allow 10 per worker): set STOREFRONT_REDIS_URL so all workers share the "
        "counts, or run a single worker and set STOREFRONT_WEB_PROCESSES=1"
    )


def instance_path(overrides: Mapping[str, Any] | None) -> str:
    """The instance folder: ``config['INSTANCE_PATH']``, STOREFRONT_INSTANCE_PATH, ./instance."""
    path = (overrides or {}).get("INSTANCE_PATH") or os.environ.get(f"{ENV_PREFIX}_INSTANCE_PATH")
    return str(Path(path or "instance").resolve())


def migrations_dir() -> Path:
    """The Alembic folder: inside the installed package (the wheel maps the top-level
    ``migrations/`` there), else the checkout's ``migrations/`` beside ``platform/``."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "migrations", package.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError(f"no migrations beside {package}: a broken install or checkout")
