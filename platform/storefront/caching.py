"""Redis for Flask-Caching, with JSON instead of pickle.

Flask-Caching's ``RedisCache`` unpickles whatever it reads; anyone able to write to Redis
could then run code in every worker. Values here are written as JSON and read back as
JSON only: a pickled (or otherwise foreign) value is treated as a miss, never loaded.
"""

from __future__ import annotations

import json
from typing import Any

from flask_caching.backends.rediscache import RedisCache

_JSON = b"j"


class JSONSerializer:
    def dumps(self, value: Any) -> bytes:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value).encode("ascii")  # plain integers keep INCR working
        return _JSON + json.dumps(value, separators=(",", ":")).encode("utf-8")

    def loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        if value.startswith(_JSON):
            return json.loads(value[1:])
        try:
            return int(value)
        except ValueError:
            return None  # not ours (e.g. a pickle someone planted): a miss


class JSONRedisCache(RedisCache):
    serializer = JSONSerializer()
