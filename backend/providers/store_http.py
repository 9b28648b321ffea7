"""What the WooCommerce and Shopify clients share: one HTTP session, their errors, the
normalised product they both return, and retries that obey the store's rate limits.

Retries: a 429 waits its `Retry-After` (seconds, capped at MAX_RETRY_AFTER_SECONDS) and does
not count as a failure; a timeout, a connection error or a 5xx is retried after 0.5, 1, 2 …
seconds (exponential backoff) up to `retries` times, then raised as StoreError ("timeout" or
"unavailable"). 401/403 are StoreError("auth"), never retried."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_RETRIES = 3
BACKOFF_BASE_SECONDS = 0.5
MAX_RETRY_AFTER_SECONDS = 60.0
# 429s in a row before giving up (each waits its Retry-After).
MAX_RATE_LIMITED = 20


class StoreError(Exception):
    """A store call that failed: kind is auth, not_found, timeout, unavailable or invalid."""

    def __init__(self, message: str, kind: str, status: int | None = None,
                 item: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.item = item  # the upstream product it is about, when it is about one


@dataclass(frozen=True)
class StoreVariant:
    external_id: str
    sku: str
    price: str | None  # the store's decimal string, major units; None: no price
    stock: int | None  # None: stock not managed
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreProduct:
    external_id: str
    title: str
    description: str
    category: str
    images: list[str]
    active: bool  # published / ACTIVE upstream
    modified_at: datetime | None
    variants: list[StoreVariant]


@dataclass(frozen=True)
class StoreInfo:
    name: str
    currency: str
    products: int | None = None


def retry_after(response: requests.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


class StoreHttp:
    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 retries: int = DEFAULT_RETRIES,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        self.auth: tuple[str, str] | None = None
        self.headers: dict[str, str] = {}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.rate_limited = 0  # 429s answered (and waited out) by this client

    @property
    def session(self) -> requests.Session:
        """This thread's session (connections kept alive; one per thread, as requests needs)."""
        found: requests.Session | None = getattr(self._local, "session", None)
        if found is None:
            found = requests.Session()
            found.auth = self.auth
            found.headers.update(self.headers)
            self._local.session = found
            with self._lock:
                self._sessions.append(found)
        return found

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        failures = limited = 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.Timeout as error:
                failure = StoreError(f"{self.name} did not answer within {self.timeout:g} s",
                                     "timeout")
                cause: Exception = error
            except requests.RequestException as error:
                failure = StoreError(f"{self.name} unreachable: {type(error).__name__}",
                                     "unavailable")
                cause = error
            else:
                if response.status_code == 429:
                    limited += 1
                    with self._lock:
                        self.rate_limited += 1
                    if limited > MAX_RATE_LIMITED:
                        raise StoreError(f"{self.name} kept answering 429", "unavailable", 429)
                    wait = retry_after(response)
                    log.info("%s rate limit: waiting %.2f s (Retry-After)", self.name, wait)
                    self.sleep(wait)
                    continue
                if response.status_code in (401, 403):
                    raise StoreError(f"{self.name} refused the credentials "
                                     f"({response.status_code})", "auth", response.status_code)
                if response.status_code < 500:
                    return response
                failure = StoreError(f"{self.name} answered {response.status_code}",
                                     "unavailable", response.status_code)
                cause = failure
            failures += 1
            if failures > self.retries:
                raise failure from cause
            self.sleep(BACKOFF_BASE_SECONDS * 2 ** (failures - 1))

    def json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise StoreError(f"{self.name} answered something that is not JSON "
                             f"({response.status_code})", "invalid", response.status_code) from None
