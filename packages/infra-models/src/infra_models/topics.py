"""The Kafka topic-name rule, once: 1-249 characters from ``A-Z a-z 0-9 . _ -``, and not ``.`` or ``..``.

Kafka itself refuses other names (``kafka.common.internals.Topic.validate``); checking before anything is written
turns a broker error at relay time into a clear error at the call that named the topic.

Example:
    >>> check_topic_name("orders.v1")
    'orders.v1'
    >>> is_topic_name("..")
    False
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = [
    "TOPIC_NAME_MAX_LENGTH",
    "TOPIC_NAME_PATTERN",
    "TopicName",
    "TopicNameError",
    "check_topic_name",
    "is_topic_name",
]

TOPIC_NAME_MAX_LENGTH = 249
TOPIC_NAME_PATTERN = r"^[A-Za-z0-9._-]+$"
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


class TopicNameError(ValueError):
    """A string that Kafka would refuse as a topic name; the message names the value and the rule."""


def is_topic_name(name: object) -> bool:
    """True when ``name`` is a string Kafka accepts as a topic name."""
    return isinstance(name, str) and _TOPIC.fullmatch(name) is not None and name not in {".", ".."}


def check_topic_name(name: object, *, what: str = "topic") -> str:
    """Return ``name`` when it is a valid topic name; raise :class:`TopicNameError` naming ``what`` otherwise."""
    if is_topic_name(name):
        return name  # type: ignore[return-value]  # is_topic_name checked the type
    if name in {".", ".."}:
        raise TopicNameError(f"{what} {name!r} is not a valid Kafka topic name: '.' and '..' are reserved")
    raise TopicNameError(
        f"{what} {name!r} is not a valid Kafka topic name: use 1-{TOPIC_NAME_MAX_LENGTH} characters "
        "from A-Z a-z 0-9 . _ -"
    )


def _checked(name: str) -> str:
    return check_topic_name(name)


TopicName = Annotated[
    str,
    Field(min_length=1, max_length=TOPIC_NAME_MAX_LENGTH, pattern=TOPIC_NAME_PATTERN),
    AfterValidator(_checked),
]
"""A pydantic field type for a Kafka topic name (the JSON Schema carries the length and the character class)."""
