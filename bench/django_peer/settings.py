"""Django settings for the peer: production-like (DEBUG off, cached templates, persistent
connections), the database from ``PEER_DATABASE_URL``-style variables set by the bench."""

from __future__ import annotations

import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "peer-bench-secret-key-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["*"]

SHARED_APPS = [
    "django_tenants",
    "bench.django_peer.shops",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
]
TENANT_APPS = ["bench.django_peer.catalog"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
TENANT_MODEL = "shops.Client"
TENANT_DOMAIN_MODEL = "shops.Domain"
TENANT_BASE_SCHEMA = "base"  # new tenants are cloned from it (django-tenants' clone)
TENANT_CREATION_FAKES_MIGRATIONS = True

# What a Django shop serves pages through: django-tenants first, then Django's defaults.
MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.django_peer.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,  # with DEBUG off Django wraps the loaders in its cached loader
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": os.environ.get("PEER_DB_NAME", "peer_bench"),
        "USER": os.environ.get("PEER_DB_USER", "postgres"),
        "HOST": os.environ.get("PEER_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("PEER_DB_PORT", "5432"),
        "CONN_MAX_AGE": 600,  # persistent connections, as the platform's pool
    }
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_I18N = True
USE_TZ = True
LANGUAGE_CODE = "en-us"
LOGGING = {"version": 1, "disable_existing_loggers": True}
