"""Load and fault drills against gunicorn on MariaDB + Redis (``make drills``)."""
