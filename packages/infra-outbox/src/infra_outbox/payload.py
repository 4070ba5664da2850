"""Turn a payload (JSON value, pydantic model or bytes) into the bytes sent to Kafka."""

from __future__ import annotations

import json
from typing import Any

from infra_outbox.errors import PayloadError

__all__ = ["JSON_CONTENT_TYPE", "BYTES_CONTENT_TYPE", "serialise_payload"]

JSON_CONTENT_TYPE = "application/json"
BYTES_CONTENT_TYPE = "application/octet-stream"


def serialise_payload(payload: Any) -> tuple[bytes, str]:
    """Return ``(bytes, content type)`` for a JSON value, a pydantic model, or raw bytes.

    Raises :class:`PayloadError` naming the value that JSON cannot represent.
    """
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload), BYTES_CONTENT_TYPE
    dump = getattr(payload, "model_dump_json", None)
    if callable(dump):  # a pydantic v2 model
        return str(dump()).encode(), JSON_CONTENT_TYPE
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadError(
            f"payload is not JSON-serialisable ({exc}); pass a dict/list/str/number/bool/None, "
            "a pydantic model, or bytes",
            details={"type": type(payload).__name__},
        ) from exc
    return text.encode(), JSON_CONTENT_TYPE
