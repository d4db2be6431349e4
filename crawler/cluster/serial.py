"""JSON for what goes through Redis: requests (scrapy-redis's SCHEDULER_SERIALIZER interface,
``loads``/``dumps``) and items. Bytes (bodies, header names and values) are tagged base64, and
mappings with non-string keys (Scrapy's headers) are tagged lists of pairs. Nothing is
unpickled: a value read from Redis can only become data, never code.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and "__b" not in value and "__d" not in value:
            return {k: _encode(v) for k, v in value.items()}
        return {"__d": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__b" in value and len(value) == 1:
            return base64.b64decode(value["__b"])
        if "__d" in value and len(value) == 1:
            return {_decode(k): _decode(v) for k, v in value["__d"]}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(obj: Any) -> bytes:
    return json.dumps(_encode(obj), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    return _decode(json.loads(data))
