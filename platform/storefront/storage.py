"""Where shop files live: one interface, two backends.

``FolderStorage`` keeps objects under a local folder (the embedded default,
``instance/media``; a shared volume when several app servers run). ``S3Storage`` keeps
them in any S3-compatible object store through boto3 (AWS S3, MinIO, Ceph, R2…). Both
speak in keys such as ``shops/<uid>/img/3fa…/640.webp``: the platform chooses keys,
never a request, and ``check_key`` refuses anything that is not a plain relative path.

``STORAGE_URL`` picks the backend: ``file:///srv/media`` or ``s3://bucket/prefix`` (with
``S3_ENDPOINT_URL``, ``S3_REGION`` and credentials from ``S3_ACCESS_KEY_ID`` /
``S3_SECRET_ACCESS_KEY`` or boto3's usual chain). Nothing else in the platform knows
which one runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app

from .config import ConfigError

# Plain relative paths: letters, digits, dot, dash, underscore and slashes between them.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
KEY_MAX = 512
CHUNK = 1 << 20  # bytes read or copied at a time by ``put_file`` and ``stream``


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation; callers answer 503."""


class StoredObject(NamedTuple):
    data: bytes
    content_type: str
    etag: str


class Storage(Protocol):
    """What the platform needs of a place to keep files."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def put_file(self, key: str, path: Path, content_type: str) -> None: ...

    def get(self, key: str) -> StoredObject | None: ...

    def stream(self, key: str) -> Iterator[bytes] | None: ...

    def keys(self, prefix: str) -> Iterator[str]: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def children(self, prefix: str) -> list[str]: ...

    def describe(self) -> str: ...


def check_key(key: str) -> str:
    """``key`` if it is a plain relative path; ValueError otherwise (no ``..``, no ``//``,
    no leading slash, nothing outside the character set)."""
    if len(key) > KEY_MAX or not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise ValueError(f"not a storage key: {key[:80]!r}")
    return key


def shop_prefix(uid: str) -> str:
    """Every object of one shop lives under this prefix (its uid is never reused)."""
    return f"shops/{check_key(uid)}/"


# Below a shop's prefix, the objects that are never served as media (``/media/<key>``
# answers 404 for them): order exports with shoppers' addresses, uploaded imports.
# Only the dashboard hands them out, to the shop's staff.
PRIVATE = "private/"


def _etag(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


class FolderStorage:
    """Objects as files under ``root``; content types in a sidecar-free way (by suffix)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Like ``put``, from a file on disk, copied a chunk at a time (an export of
        millions of rows never sits in memory)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as out, path.open("rb") as source:
            shutil.copyfileobj(source, out, CHUNK)
        os.replace(tmp, target)

    def stream(self, key: str) -> Iterator[bytes] | None:
        """The object's bytes a chunk at a time, or None when there is none."""
        try:
            source = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return _chunks(source)

    def get(self, key: str) -> StoredObject | None:
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return StoredObject(data, content_type_of(key), _etag(data))

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.root / check_key(prefix.rstrip("/"))
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".part-"):
                yield path.relative_to(self.root).as_posix()

    def children(self, prefix: str) -> list[str]:
        """The names one level below ``prefix`` ("shops/" -> every shop's uid)."""
        base = self.root / check_key(prefix.rstrip("/"))
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def describe(self) -> str:
        return f"folder {self.root}"

    def delete_prefix(self, prefix: str) -> int:
        gone = 0
        for key in list(self.keys(prefix)):
            self._path(key).unlink(missing_ok=True)
            gone += 1
        base = self.root / check_key(prefix.rstrip("/"))
        if base.is_dir():
            shutil.rmtree(base, ignore_errors=True)  # the empty folders, and stray parts
        return gone


class S3Storage:
    """Objects in an S3-compatible bucket, under an optional key prefix per deployment."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise StorageError(f"object store refused {method}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"object store unreachable ({method}): {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._call(
            "put_object",
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Like ``put``, from a file on disk: boto3 sends it in parts, never whole."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
            )
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise StorageError(f"object store refused upload_file: {exc}") from exc

    def stream(self, key: str) -> Iterator[bytes] | None:
        """The object's bytes a chunk at a time, or None when there is none."""
        answer = self._call("get_object", Key=self._key(key))
        if answer is None:
            return None
        return answer["Body"].iter_chunks(CHUNK)  # type: ignore[no-any-return]

    def get(self, key: str) -> StoredObject | None:
        answer = self._call("get_object", Key=self._key(key))
        if answer is None:
            return None
        data = answer["Body"].read()
        return StoredObject(data, answer.get("ContentType") or content_type_of(key), _etag(data))

    def keys(self, prefix: str) -> Iterator[str]:
        token: str | None = None
        strip = len(self.prefix) + 1 if self.prefix else 0
        while True:
            extra = {"ContinuationToken": token} if token else {}
            wanted = self._key(prefix.rstrip("/")) + "/"
            page = self._call("list_objects_v2", Prefix=wanted, **extra)
            for item in (page or {}).get("Contents", []):
                yield item["Key"][strip:]
            if not page or not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def children(self, prefix: str) -> list[str]:
        names: list[str] = []
        token: str | None = None
        wanted = self._key(prefix.rstrip("/")) + "/"
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("list_objects_v2", Prefix=wanted, Delimiter="/", **extra) or {}
            names += [
                p["Prefix"][len(wanted) :].rstrip("/") for p in page.get("CommonPrefixes", [])
            ]
            if not page.get("IsTruncated"):
                return sorted(names)
            token = page.get("NextContinuationToken")

    def describe(self) -> str:
        endpoint = self.client.meta.endpoint_url
        return f"s3://{self.bucket}/{self.prefix} at {endpoint}"

    def delete_prefix(self, prefix: str) -> int:
        batch: list[str] = []
        gone = 0
        for key in self.keys(prefix):
            batch.append(key)
            if len(batch) == 1000:  # DeleteObjects takes at most 1,000 keys
                gone += self._delete(batch)
                batch = []
        return gone + (self._delete(batch) if batch else 0)

    def _delete(self, keys: list[str]) -> int:
        self._call(
            "delete_objects",
            Delete={"Objects": [{"Key": self._key(k)} for k in keys], "Quiet": True},
        )
        return len(keys)


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    with source:
        yield from iter(lambda: source.read(CHUNK), b"")


CONTENT_TYPES = {
    "avif": "image/avif",
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "csv": "text/csv",
}


def content_type_of(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def storage_from_config(config: Any, instance_path: str) -> Storage:
    """The backend ``STORAGE_URL`` names (default: ``<instance>/media``)."""
    url = config.get("STORAGE_URL") or f"file://{Path(instance_path) / 'media'}"
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FolderStorage(Path(parts.path))
    if parts.scheme == "s3":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or None,
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
            config=Config(
                connect_timeout=float(config.get("S3_TIMEOUT", 3.0)),
                read_timeout=float(config.get("S3_TIMEOUT", 3.0)),
                retries={"max_attempts": 3, "mode": "standard"},
                # Path-style addressing works with every S3-compatible server.
                s3={"addressing_style": "path"},
            ),
        )
        return S3Storage(parts.netloc, parts.path, client)
    raise ConfigError(f"STORAGE_URL must start with file:// or s3:// (got {url!r})")


def init_storage(app: Flask) -> None:
    app.extensions["storefront.storage"] = storage_from_config(app.config, app.instance_path)


def current_storage() -> Storage:
    """The app's store."""
    return current_app.extensions["storefront.storage"]  # type: ignore[no-any-return]
