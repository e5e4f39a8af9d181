"""WSGI entry point: ``gunicorn wsgi:application`` (or uwsgi) serves every shop."""

from storefront import create_app
from storefront.serving import settle

application = create_app()
settle()  # fewer garbage collections over a worker's long-lived objects (serving.py)
