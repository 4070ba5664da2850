"""``EncryptedPayload.from_sealed`` is the validated constructor (public pydantic API only), keeping a sealed buffer."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import infra_models.security as security_module
from infra_models import EncryptedPayload

versions = st.integers(min_value=1, max_value=255)
key_ids = st.text(min_size=1, max_size=256)
ciphertexts = st.binary(min_size=1, max_size=300)
contexts = st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4)


def _both(version: int, key_id: str, blob: bytes, context: dict[str, str]) -> tuple[Any, Any]:
    validated = EncryptedPayload(format_version=version, key_id=key_id, ciphertext=blob, context=dict(context))
    return EncryptedPayload.from_sealed(version, key_id, blob, dict(context)), validated


class TestSameAsValidated:
    @given(versions, key_ids, ciphertexts, contexts)
    def test_equal_and_dumps_identically(self, version: int, key_id: str, blob: bytes, context: dict[str, str]) -> None:
        fast, validated = _both(version, key_id, blob, context)
        assert type(fast) is EncryptedPayload
        assert fast == validated and validated == fast
        assert fast.model_dump() == validated.model_dump()
        assert fast.model_dump(mode="json") == validated.model_dump(mode="json")
        assert fast.model_dump_json() == validated.model_dump_json()
        assert fast.model_fields_set == validated.model_fields_set
        assert fast.model_extra == validated.model_extra
        assert repr(fast) == repr(validated)
        assert EncryptedPayload.model_validate_json(fast.model_dump_json()) == fast

    @given(versions, key_ids, ciphertexts, contexts)
    def test_a_bytearray_ciphertext_dumps_as_bytes(
        self, version: int, key_id: str, blob: bytes, context: dict[str, str]
    ) -> None:
        fast = EncryptedPayload.from_sealed(version, key_id, bytearray(blob), dict(context))
        validated = EncryptedPayload(format_version=version, key_id=key_id, ciphertext=blob, context=context)
        assert fast == validated
        assert fast.model_dump() == validated.model_dump()
        assert type(fast.model_dump()["ciphertext"]) is bytes
        assert fast.model_dump_json() == validated.model_dump_json()

    @given(versions, key_ids, ciphertexts, contexts)
    def test_pickles_and_copies(self, version: int, key_id: str, blob: bytes, context: dict[str, str]) -> None:
        fast, validated = _both(version, key_id, blob, context)
        for clone in (
            pickle.loads(pickle.dumps(fast)),
            copy.copy(fast),
            copy.deepcopy(fast),
            fast.model_copy(),
            fast.model_copy(deep=True),
        ):
            assert clone == validated
            assert clone.model_fields_set == validated.model_fields_set
            assert clone.model_dump_json() == validated.model_dump_json()

    def test_model_copy_with_update_marks_the_field_set(self) -> None:
        fast = EncryptedPayload.from_sealed(1, "k:v1", b"\x01\x02", {})
        changed = fast.model_copy(update={"key_id": "k:v2"})
        assert changed.key_id == "k:v2" and fast.key_id == "k:v1"
        assert changed.model_fields_set == {"format_version", "key_id", "ciphertext", "context"}

    def test_fields_set_is_not_shared_between_instances(self) -> None:
        first = EncryptedPayload.from_sealed(1, "k:v1", b"\x01", {})
        second = EncryptedPayload.from_sealed(1, "k:v1", b"\x01", {})
        assert first.model_fields_set is not second.model_fields_set


class TestFrozen:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("key_id", "other:v1"), ("format_version", 2), ("ciphertext", b"x"), ("context", {}), ("algorithm", "x")],
    )
    def test_assignment_is_refused(self, field: str, value: object) -> None:
        fast = EncryptedPayload.from_sealed(1, "k:v1", b"\x01\x02", {"t": "a"})
        with pytest.raises(ValidationError, match="frozen"):
            setattr(fast, field, value)
        assert fast == EncryptedPayload(format_version=1, key_id="k:v1", ciphertext=b"\x01\x02", context={"t": "a"})

    def test_unknown_attribute_is_refused(self) -> None:
        fast = EncryptedPayload.from_sealed(1, "k:v1", b"\x01", {})
        with pytest.raises(ValidationError):
            fast.approved_by = "CISO"  # type: ignore[attr-defined]


class TestMisuseFallsBackToValidation:
    @pytest.mark.parametrize(
        ("args", "field"),
        [
            (("one", "k:v1", b"\x01", {}), "format_version"),
            ((1.5, "k:v1", b"\x01", {}), "format_version"),
            ((1, None, b"\x01", {}), "key_id"),
            ((1, "k:v1", "not base64url!", {}), "ciphertext"),
            ((1, "k:v1", None, {}), "ciphertext"),
            ((1, "k:v1", memoryview(b"\x01"), {}), "ciphertext"),
            ((1, "k:v1", b"\x01", [("t", "a")]), "context"),
            ((1, "k:v1", b"\x01", None), "context"),
        ],
    )
    def test_a_wrong_type_raises_the_validation_error(self, args: tuple[Any, ...], field: str) -> None:
        with pytest.raises(ValidationError, match=field):
            EncryptedPayload.from_sealed(*args)

    @pytest.mark.parametrize(
        "args",
        [("1", "k:v1", b"\x01", {}), (True, "k:v1", b"\x01", {}), (1, b"k:v1", b"\x01", {}), (1, "k:v1", "AQ", {})],
    )
    def test_another_type_gets_exactly_the_validated_constructor(self, args: tuple[Any, ...]) -> None:
        version, key_id, blob, context = args
        made = EncryptedPayload.from_sealed(*args)
        validated = EncryptedPayload(format_version=version, key_id=key_id, ciphertext=blob, context=context)
        assert made == validated and made.model_dump_json() == validated.model_dump_json()
        assert type(made.format_version) is int and type(made.key_id) is str and type(made.ciphertext) is bytes

    def test_a_subclass_is_always_validated(self) -> None:
        class Stricter(EncryptedPayload):
            pass

        made = Stricter.from_sealed(1, "k:v1", b"\x01", {})
        assert type(made) is Stricter
        with pytest.raises(ValidationError, match="format_version"):
            Stricter.from_sealed(0, "k:v1", b"\x01", {})


class TestValidatedLikeTheConstructor:
    @pytest.mark.parametrize(
        ("args", "field"),
        [
            ((0, "k:v1", b"\x01", {}), "format_version"),
            ((256, "k:v1", b"\x01", {}), "format_version"),
            ((1, "", b"\x01", {}), "key_id"),
            ((1, "k" * 257, b"\x01", {}), "key_id"),
            ((1, "k:v1", b"", {}), "ciphertext"),
            ((1, "k:v1", bytearray(), {}), "ciphertext"),
            ((1, "k:v1", b"\x01", {"t": 1}), "context"),
            ((1, "k:v1", b"\x01", {1: "a"}), "context"),
        ],
    )
    def test_a_value_out_of_range_is_refused(self, args: tuple[Any, ...], field: str) -> None:
        with pytest.raises(ValidationError, match=field):
            EncryptedPayload.from_sealed(*args)

    def test_only_from_sealed_keeps_a_bytearray_without_copying_it(self) -> None:
        buffer = bytearray(b"\x01\x02\x03")
        sealed = EncryptedPayload.from_sealed(1, "k:v1", buffer, {})
        assert sealed.ciphertext is buffer
        built = EncryptedPayload(format_version=1, key_id="k:v1", ciphertext=buffer)
        assert type(built.ciphertext) is bytes and built == sealed
        validated = EncryptedPayload.model_validate({"format_version": 1, "key_id": "k:v1", "ciphertext": buffer})
        assert type(validated.ciphertext) is bytes

    def test_a_bytes_subclass_becomes_bytes(self) -> None:
        class Blob(bytes):
            pass

        made = EncryptedPayload.from_sealed(1, "k:v1", Blob(b"\x01"), {})
        assert type(made.ciphertext) is bytes and made.ciphertext == b"\x01"

    def test_built_through_public_pydantic_api_only(self) -> None:
        source = Path(security_module.__file__).read_text(encoding="utf-8")
        for private in ("object.__setattr__", "__pydantic_fields_set__", "__pydantic_validator__", "object.__new__"):
            assert private not in source, private
