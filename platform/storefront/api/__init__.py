"""The JSON API, ``/api/v1``, per shop. See ``openapi.py`` for the document it serves."""
