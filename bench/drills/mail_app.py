"""The platform of the mail drill: jobs on the drill's Redis, mail to its SMTP sink
(``BENCH_ROOT``, ``BENCH_REDIS_URL``, ``BENCH_SMTP_PORT``; shop files in an S3-compatible store
with ``BENCH_S3_ENDPOINT``). ``python -m
bench.drills.mail_app`` runs the jobs worker; gunicorn serves ``application``."""

from __future__ import annotations

import os
from pathlib import Path

from ..platform_setup import build_app
from . import s3_settings

# The cluster drill keeps shop files in an S3-compatible store on loopback.
S3 = s3_settings(os.environ["BENCH_S3_ENDPOINT"]) if os.environ.get("BENCH_S3_ENDPOINT") else {}

application = build_app(
    Path(os.environ["BENCH_ROOT"]),
    REDIS_URL=os.environ["BENCH_REDIS_URL"],
    JOBS_BACKEND="redis",
    JOBS_PER_SHOP=2,
    MAIL_BACKEND="smtp",
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT=int(os.environ["BENCH_SMTP_PORT"]),
    MAIL_TIMEOUT=3,
    OUTBOX_RETRY_SECONDS=2,  # the drill waits seconds, not the production minutes
    OUTBOX_CLAIM_SECONDS=8,
    JOBS_SLOT_SECONDS=8,
    CACHE_RETRY_SECONDS=2.0,
    SECURITY_PASSWORD_HASH="pbkdf2_sha512",
    WEBHOOK_ALLOW_PRIVATE=True,  # the drill's receiver listens on loopback
    WEBHOOK_DEADLINE_SECONDS=3,
    **S3,
)

if __name__ == "__main__":
    from storefront.jobs.worker import run_worker

    run_worker(application, threads=4, sweep_seconds=1.0)
