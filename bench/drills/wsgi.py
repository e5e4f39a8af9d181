"""The platform for gunicorn in the drills (``BENCH_ROOT``, ``BENCH_DATABASE_URL`` and
``BENCH_REDIS_URL`` name the prepared folder and the drill's own servers)."""

from __future__ import annotations

import os
from pathlib import Path

from ..platform_setup import build_app

application = build_app(
    Path(os.environ["BENCH_ROOT"]),
    REDIS_URL=os.environ["BENCH_REDIS_URL"],
    CACHE_RETRY_SECONDS=2.0,
    RATELIMIT_ENABLED=False,
    SECURITY_PASSWORD_HASH="pbkdf2_sha512",  # the drill is about isolation, not hashing cost
)
