"""Field-level encryption: explicit paths, nested and list fields, models, binding to the path."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from infra_security import DecryptionError, EncryptionError, FieldEncryption, Keyring, PayloadEncryption


class Card(BaseModel):
    number: str
    brand: str


class Customer(BaseModel):
    name: str
    password: str
    cards: list[Card]


@pytest.fixture
def enc() -> PayloadEncryption:
    return PayloadEncryption("k", keyring=Keyring.generate("k"))


DOC = {
    "name": "Ann",
    "password": "hunter2",
    "password_hint": "cat",
    "monkey": "banana",
    "card": {"number": "4111", "brand": "visa", "cvv": 123},
    "cards": [{"number": "5500", "brand": "mc"}, {"number": "3400", "brand": "amex"}],
}


def test_only_listed_fields_encrypted(enc: PayloadEncryption) -> None:
    fields = FieldEncryption(enc, ["password", "card.number", "card.cvv", "cards[].number"])
    sealed = fields.encrypt_fields(DOC)
    assert sealed["name"] == "Ann" and sealed["password_hint"] == "cat" and sealed["monkey"] == "banana"
    assert sealed["card"]["brand"] == "visa" and sealed["cards"][1]["brand"] == "amex"
    for secret in ("hunter2", "4111", "5500", "3400"):
        assert secret not in str(sealed)
    assert isinstance(sealed["card"]["cvv"], str)
    assert fields.decrypt_fields(sealed) == DOC
    assert DOC["password"] == "hunter2"  # the input was not modified


def test_model_round_trip(enc: PayloadEncryption) -> None:
    customer = Customer(name="Ann", password="pw", cards=[Card(number="4111", brand="visa")])
    fields = FieldEncryption(enc, ["password", "cards[].number"])
    sealed = fields.encrypt_fields(customer)
    assert "4111" not in str(sealed)
    assert fields.decrypt_model(sealed, Customer) == customer


def test_values_cannot_be_swapped_between_fields(enc: PayloadEncryption) -> None:
    fields = FieldEncryption(enc, ["a", "b"])
    sealed = fields.encrypt_fields({"a": "1", "b": "2"})
    with pytest.raises(DecryptionError):
        fields.decrypt_fields({"a": sealed["b"], "b": sealed["a"]})


def test_context_binds_the_record(enc: PayloadEncryption) -> None:
    fields = FieldEncryption(enc, ["a"])
    sealed = fields.encrypt_fields({"a": "1"}, {"tenant": "x"})
    with pytest.raises(DecryptionError):
        fields.decrypt_fields(sealed, {"tenant": "y"})
    assert fields.decrypt_fields(sealed, {"tenant": "x"}) == {"a": "1"}


def test_missing_fields(enc: PayloadEncryption) -> None:
    assert FieldEncryption(enc, ["x.y"]).encrypt_fields({"a": 1}) == {"a": 1}
    with pytest.raises(EncryptionError, match=r"`x\.y` is missing"):
        FieldEncryption(enc, ["x.y"], require=True).encrypt_fields({"a": 1})


def test_bad_paths_and_values(enc: PayloadEncryption) -> None:
    with pytest.raises(EncryptionError, match="invalid"):
        FieldEncryption(enc, ["a..b"])
    with pytest.raises(EncryptionError, match="at least one"):
        FieldEncryption(enc, [])
    with pytest.raises(EncryptionError, match="not a list"):
        FieldEncryption(enc, ["a[].b"]).encrypt_fields({"a": {"b": 1}})
    with pytest.raises(DecryptionError, match="not encrypted text"):
        FieldEncryption(enc, ["a"]).decrypt_fields({"a": 5})
