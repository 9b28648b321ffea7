"""Field encryption (Fernet), keyed lookup hashes, API-key hashing, constant-time compares."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, MultiFernet

from backend.settings import FERNET_KEY_HINT, ConfigurationError

API_KEY_PREFIX_LENGTH = 8


class Crypto:
    """Encrypts personal data at rest and derives stable keyed hashes to find it again."""

    def __init__(self, encryption_keys: Sequence[str], hash_key: str) -> None:
        if not encryption_keys or not hash_key:
            raise ConfigurationError("Crypto needs at least one ENCRYPTION_KEY and a HASH_KEY")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in encryption_keys])
        except ValueError as error:
            raise ConfigurationError(
                f"ENCRYPTION_KEY is not a valid Fernet key ({error}); "
                f"make one with {FERNET_KEY_HINT}"
            ) from None
        self._hash_key = hash_key.encode()

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the first key; the token is ASCII text."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt with any configured key (raises cryptography's InvalidToken otherwise)."""
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 hex: equal inputs match; without the key the input cannot be guessed."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


def generate_api_key() -> str:
    """A new random API key (shown once, stored only as its hash)."""
    return secrets.token_urlsafe(32)


def api_key_prefix(raw_key: str) -> str:
    """The first characters, stored in clear to find candidate keys and to show in listings."""
    return raw_key[:API_KEY_PREFIX_LENGTH]


def hash_api_key(raw_key: str) -> str:
    """SHA-256 hex digest of an API key (keys are random, so no salt or stretching is needed)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def constant_time_equals(left: str, right: str) -> bool:
    """Compare secrets without leaking where they differ through timing."""
    return hmac.compare_digest(left.encode(), right.encode())
