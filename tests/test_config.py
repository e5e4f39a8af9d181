"""Config layers, secrets, the embedded default and the per-shop overlay."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storefront import create_app
from storefront.config import ConfigError
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.tenancy.settings import SettingsError, load_settings, parse_settings


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("STOREFRONT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError) as info:
        create_app({"INSTANCE_PATH": str(tmp_path), "ENVIRONMENT": "production"})
    assert "\n" not in str(info.value)
    assert "STOREFRONT_SECRET_KEY" in str(info.value)


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="too short"):
        create_app(
            {"INSTANCE_PATH": str(tmp_path), "ENVIRONMENT": "production", "SECRET_KEY": "dev"}
        )


PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "k" * 40, "OUTBOX_SWEEP_SECONDS": 0}


@pytest.fixture
def no_shared_storage(monkeypatch):
    for name in ("STOREFRONT_REDIS_URL", "STOREFRONT_RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("STOREFRONT_WEB_PROCESSES", raising=False)


def test_production_refuses_per_worker_rate_limits(tmp_path, no_shared_storage):
    # Without Redis the limits were kept per worker: 13 wrong passwords on two workers,
    # no 429. Production now refuses to start rather than count that way.
    with pytest.raises(ConfigError) as info:
        create_app({"INSTANCE_PATH": str(tmp_path), **PRODUCTION})
    message = str(info.value)
    assert "\n" not in message
    assert "memory://" in message and "several web processes" in message
    assert "STOREFRONT_REDIS_URL" in message and "STOREFRONT_WEB_PROCESSES=1" in message


def test_gunicorn_tells_the_app_its_worker_count_which_production_checks(
    tmp_path, monkeypatch, no_shared_storage
):
    import runpy
    from pathlib import Path

    # The hook writes os.environ itself: setenv first, so the test's end restores it
    # (delenv of an unset name records nothing, and the count leaked into later tests).
    monkeypatch.setenv("STOREFRONT_WEB_PROCESSES", "0")
    # Loading it names a metrics folder in os.environ (multiprocess mode): this test's own.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    conf = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    conf["nworkers_changed"](None, 3, None)  # what gunicorn calls before loading the app
    with pytest.raises(ConfigError, match="and 3 web processes may serve"):
        create_app({"INSTANCE_PATH": str(tmp_path), **PRODUCTION})
    conf["nworkers_changed"](None, 1, 3)
    assert create_app({"INSTANCE_PATH": str(tmp_path), **PRODUCTION}).config["WEB_PROCESSES"] == 1


def test_shared_rate_limits_or_no_web_processes_start_in_production(tmp_path, no_shared_storage):
    shared = create_app(
        {"INSTANCE_PATH": str(tmp_path), **PRODUCTION, "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert shared.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    # tenantctl serves no pages: it starts without Redis (cli.common builds it so).
    create_app({"INSTANCE_PATH": str(tmp_path), **PRODUCTION, "WEB_PROCESSES": 0})


def test_development_generates_a_secret_key_once_into_the_instance_folder(tmp_path):
    config = {"INSTANCE_PATH": str(tmp_path), "ENVIRONMENT": "development"}
    first, second = create_app(config), create_app(config)
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").read_text().strip() == first.secret_key


def test_layers_defaults_instance_file_environment_then_argument(tmp_path, monkeypatch):
    (tmp_path / "application.cfg.py").write_text(
        "PRODUCTS_PER_PAGE = 5\nPLATFORM_NAME = 'from file'\nLOG_LEVEL = 'WARNING'\n"
    )
    monkeypatch.setenv("STOREFRONT_PRODUCTS_PER_PAGE", "7")
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("STOREFRONT_CUSTOM_THING", '{"a": 1}')
    monkeypatch.setenv("STOREFRONT_WEB_PROCESSES", "1")  # production without Redis: one worker
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOG_LEVEL": "ERROR"})
    assert app.config["PLATFORM_NAME"] == "from file"
    assert app.config["PRODUCTS_PER_PAGE"] == 7  # env over the file
    assert app.config["LOG_LEVEL"] == "ERROR"  # argument over everything
    assert app.config["SECRET_KEY"] == "s" * 40
    assert app.config["CUSTOM_THING"] == {"a": 1}


def test_instance_and_tenants_folders_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("STOREFRONT_TENANTS_DIR", str(tmp_path / "shops"))
    app = create_app({"ENVIRONMENT": "development"})
    assert app.instance_path == str(tmp_path / "inst")
    assert app.config["TENANTS_DIR"] == str(tmp_path / "shops")


def test_embedded_default_is_sqlite_in_the_instance_folder_with_wal(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENVIRONMENT": "development"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'storefront.db'}"
    assert app.config["CACHE_TYPE"] == "SimpleCache"
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_mysql_and_redis_urls_switch_the_backends(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "ENVIRONMENT": "development",
            "DATABASE_URL": "mysql+pymysql://u:p@127.0.0.1/shop",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("?charset=utf8mb4")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert "pool_pre_ping" not in options  # storefront.db pings idle connections only
    assert options["pool_reset_on_return"] is None  # storefront.db's reset event instead
    assert options["pool_recycle"] < 28800
    assert app.config["CACHE_TYPE"] == "storefront.caching.ResilientRedisCache"
    assert app.config["CACHE_OPTIONS"]["socket_timeout"] <= 1


VALID = 'name = "Acme"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "Acme"\ncolour = "red"\n', "colour: unknown key"),
        ('theme = "classic"\n', "name: missing"),
        (
            'name = "Acme"\n[features]\nregistration = "yes"\n',
            "features.registration: expected a valid boolean",
        ),
        ('name = "Acme"\n[branding]\nprimary_color = "blue"\n', "branding.primary_color"),
        ('name = "Acme"\ntheme = "neon"\n', "unknown theme 'neon'"),
        ('name = "Acme"\ncurrency = "XXQ"\n', "unknown currency"),
        (
            'name = "Acme"\n[config]\nSECRET_KEY = "mine"\n',
            "'SECRET_KEY' is not one a shop may set",
        ),
        (
            'name = "Acme"\n[config]\nDATABASE_URL = "sqlite://"\n',
            "'DATABASE_URL' is not one a shop may set",
        ),
        ('name = "Acme"\n[config]\nPRODUCTS_PER_PAGE = "ten"\n', "PRODUCTS_PER_PAGE expects int"),
        ('name = = "Acme"\n', "invalid TOML"),
    ],
)
def test_tenant_toml_errors_name_file_key_and_expectation(text, expected):
    with pytest.raises(SettingsError) as info:
        parse_settings(text, "tenants/acme/tenant.toml")
    message = str(info.value)
    assert message.startswith("tenants/acme/tenant.toml: ")
    assert expected in message


def test_a_missing_tenant_toml_is_a_clear_error(tmp_path):
    with pytest.raises(SettingsError, match="missing"):
        load_settings(tmp_path, "ghost")


def test_a_broken_shop_never_stops_the_others(app, client, make_shop):
    make_shop("acme", name="Acme Supplies")
    make_shop("globex", name="Globex", settings='name = "Globex"\nbogus = 1\n')
    broken = client.get("/", headers={"Host": "globex.test"})
    assert broken.status_code == 503
    assert "Traceback" not in broken.text
    assert client.get("/", headers={"Host": "acme.test"}).status_code == 200


def test_shop_overlay_is_per_shop_and_never_written_into_app_config(app, make_shop):
    acme = make_shop(
        "acme",
        settings='name = "Acme"\n[config]\nPRODUCTS_PER_PAGE = 30\n'
        "[features]\nconfirm_email = true\n",
    )
    globex = make_shop("globex")
    with app.app_context():
        base = app.config["PRODUCTS_PER_PAGE"]
        with tenant_context("acme"):
            assert app.config["PRODUCTS_PER_PAGE"] == 30
            assert app.config.get("SECURITY_LOGIN_WITHOUT_CONFIRMATION") is False
        with tenant_context(globex):
            assert app.config["PRODUCTS_PER_PAGE"] == base
            assert app.config.get("SECURITY_LOGIN_WITHOUT_CONFIRMATION") is True
        assert dict.__getitem__(app.config, "PRODUCTS_PER_PAGE") == base
    assert acme.slug == "acme"
