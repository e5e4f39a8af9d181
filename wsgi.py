"""WSGI entry point: ``gunicorn wsgi:application`` (or uwsgi) serves every shop."""

from storefront import create_app

application = create_app()
