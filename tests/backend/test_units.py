"""Unit scenarios without a database: settings, crypto, phone numbers and money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from backend.app import create_app
from backend.domain.money import Money, MoneyError, price_range
from backend.domain.phones import InvalidPhoneNumber, to_e164, whatsapp_address
from backend.security import Crypto, constant_time_equals, hash_api_key
from backend.settings import REPO_ROOT, ConfigurationError, Settings


def test_settings_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'app.db'}"
    assert settings.redis_url == ""
    assert settings.sandbox is True
    assert settings.backend_port == 8000
    assert settings.twilio_sandbox_api_url == "http://127.0.0.1:8000/sandbox/twilio"
    assert settings.twilio_api_url == "https://api.twilio.com"


def test_settings_read_the_environment() -> None:
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg://u@h/db",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SERVICE_TOKEN": "tok",
            "ENCRYPTION_KEY": f"{key_a}, {key_b}",
            "HASH_KEY": "hk",
            "SANDBOX": "0",
            "BACKEND_PORT": "8123",
        }
    )
    assert settings.encryption_keys == (key_a, key_b)
    assert settings.sandbox is False
    assert settings.twilio_sandbox_api_url == "http://127.0.0.1:8123/sandbox/twilio"
    assert settings.twilio_base_url(sandbox_tenant=True) == settings.twilio_sandbox_api_url
    assert settings.twilio_base_url(sandbox_tenant=False) == "https://api.twilio.com"
    assert "tok" not in repr(settings) and key_a not in repr(settings)


def test_missing_secrets_fail_at_create_app_naming_each_one() -> None:
    with pytest.raises(ConfigurationError) as error:
        create_app(Settings.from_env({}))
    message = str(error.value)
    assert "SERVICE_TOKEN" in message and "ENCRYPTION_KEY" in message and "HASH_KEY" in message


def test_a_malformed_fernet_key_is_a_configuration_error() -> None:
    settings = Settings.from_env({"SERVICE_TOKEN": "t", "ENCRYPTION_KEY": "nope", "HASH_KEY": "h"})
    with pytest.raises(ConfigurationError, match="Fernet"):
        create_app(settings)


def test_bad_backend_port_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="BACKEND_PORT"):
        Settings.from_env({"BACKEND_PORT": "eighty"})


def test_encryption_round_trip_and_key_rotation() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = Crypto([old], "h")
    token = before.encrypt("+254712345678")
    assert "254712345678" not in token
    after = Crypto([new, old], "h")  # new key first, old one still decrypts
    assert after.decrypt(token) == "+254712345678"
    rotated = after.rotate(token)
    assert Crypto([new], "h").decrypt(rotated) == "+254712345678"


def test_keyed_hash_is_stable_and_depends_on_the_key() -> None:
    key = Fernet.generate_key().decode()
    one, same, other = Crypto([key], "k1"), Crypto([key], "k1"), Crypto([key], "k2")
    assert one.keyed_hash("+254712345678") == same.keyed_hash("+254712345678")
    assert one.keyed_hash("+254712345678") != other.keyed_hash("+254712345678")
    assert len(one.keyed_hash("x")) == 64


def test_api_key_hash_and_constant_time_compare() -> None:
    assert hash_api_key("abc") == hash_api_key("abc") != hash_api_key("abd")
    assert constant_time_equals("same", "same")
    assert not constant_time_equals("same", "sane")


@given(st.from_regex(r"7[0-9]{8}|1[01][0-9]{7}", fullmatch=True))
def test_every_kenyan_spelling_gives_the_same_e164(subscriber: str) -> None:
    spellings = [f"0{subscriber}", f"254{subscriber}", f"+254{subscriber}"]
    spellings += [f"whatsapp:+254{subscriber}", f" +254 {subscriber} "]
    try:
        expected = to_e164(f"+254{subscriber}")
    except InvalidPhoneNumber:
        # Not an allocated Kenyan range: then every spelling must be refused alike.
        for spelling in spellings:
            with pytest.raises(InvalidPhoneNumber):
                to_e164(spelling)
        return
    assert expected == f"+254{subscriber}"
    assert {to_e164(spelling) for spelling in spellings} == {expected}


@pytest.mark.parametrize("raw", ["", "12", "whatsapp:", "not a phone", "+2547"])
def test_unparsable_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw)


def test_foreign_numbers_keep_their_country() -> None:
    assert to_e164("+14155550100") == "+14155550100"
    assert whatsapp_address("+254712345678") == "whatsapp:+254712345678"


def test_money_is_exact_minor_units() -> None:
    assert Money.from_major("2500", "KES") == Money(250000, "KES")
    assert Money.from_major("99.5", "KES").amount_minor == 9950
    assert Money(250000, "KES").format() == "KES 2,500.00"
    assert Money(100, "KES") + Money(250, "KES") == Money(350, "KES")
    with pytest.raises(MoneyError):
        Money.from_major("0.001", "KES")
    with pytest.raises(MoneyError):
        Money.from_major(2.5, "KES")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1, "KES") + Money(1, "USD")
    with pytest.raises(MoneyError):
        Money(1.5, "KES")  # type: ignore[arg-type]
    assert price_range([]) == (None, None)
    assert price_range([300, 100, 200]) == (100, 300)


@given(st.integers(min_value=0, max_value=10**15))
def test_money_survives_a_trip_through_major_units(amount_minor: int) -> None:
    money = Money(amount_minor, "KES")
    assert Money.from_major(money.to_major(), "KES") == money
    assert Money.from_major(str(money.to_major()), "KES") == money
    assert money.to_major() == Decimal(amount_minor) / 100
