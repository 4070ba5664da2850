"""infra_models.topics: the Kafka topic-name rule, once, for functions and pydantic fields alike."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from infra_models import OutboxEvent, TopicName, TopicNameError, TopicSet, check_topic_name, is_topic_name

REFERENCE = re.compile(r"[A-Za-z0-9._-]{1,249}")  # Kafka's Topic.validate: legal chars, length, not . or ..
FIELD = TypeAdapter(TopicName)


def kafka_accepts(name: str) -> bool:
    return REFERENCE.fullmatch(name) is not None and name not in {".", ".."}


class TestRule:
    @given(st.text(alphabet="aZ09._-/ \n\u00e9\u0661", max_size=12) | st.text(max_size=300))
    def test_function_and_field_agree_with_kafkas_rule(self, name):
        expected = kafka_accepts(name)
        assert is_topic_name(name) is expected
        try:
            FIELD.validate_python(name)
        except ValidationError:
            assert not expected
        else:
            assert expected

    @pytest.mark.parametrize("name", ["orders", "orders.v1", "a", "A_b-c.9", "x" * 249, "...", "_"])
    def test_valid_names_pass_unchanged(self, name):
        assert check_topic_name(name) == name

    @pytest.mark.parametrize(
        ("name", "why"),
        [
            ("", "1-249 characters"),
            ("x" * 250, "1-249 characters"),
            ("orders\n", "1-249 characters"),  # a trailing newline must not slip past an anchored pattern
            ("ord ers", "1-249 characters"),
            ("orders/v1", "1-249 characters"),
            ("\u0661", "1-249 characters"),  # an Arabic-Indic digit is not 0-9
            (".", "reserved"),
            ("..", "reserved"),
            (None, "1-249 characters"),
            (7, "1-249 characters"),
        ],
    )
    def test_invalid_names_are_refused_naming_value_and_rule(self, name, why):
        with pytest.raises(TopicNameError, match=why) as exc:
            check_topic_name(name, what="dead-letter topic")
        assert str(exc.value).startswith(f"dead-letter topic {name!r}")


class TestModels:
    def test_outbox_event_refuses_a_reserved_topic(self):
        with pytest.raises(ValidationError, match="reserved"):
            OutboxEvent(event_type="t", topic="..", payload=b"{}")

    def test_topic_set_refuses_a_newline(self):
        with pytest.raises(ValidationError):
            TopicSet(consumed=("orders\n",))
        assert TopicSet(consumed=("orders",)).consumed == ("orders",)

    def test_json_schema_keeps_the_rule(self):
        schema = FIELD.json_schema()
        assert schema["maxLength"] == 249 and schema["minLength"] == 1
        assert schema["pattern"] == "^[A-Za-z0-9._-]+$"
