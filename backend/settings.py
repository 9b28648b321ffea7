"""Application settings, read once from the environment into one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BACKEND_PORT = 8000
DEFAULT_TWILIO_API_URL = "https://api.twilio.com"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
# Where Safaricom sends Daraja callbacks from (its published allow-list for callback URLs). The
# default source allow-list of M-Pesa callbacks; MPESA_CALLBACK_IPS overrides it.
SAFARICOM_CALLBACK_IPS = (
    "196.201.214.200", "196.201.214.206", "196.201.213.114", "196.201.214.207",
    "196.201.214.208", "196.201.213.44", "196.201.212.127", "196.201.212.138",
    "196.201.212.129", "196.201.212.136", "196.201.212.74", "196.201.212.69",
)
LOOPBACK = ("127.0.0.0/8", "::1")
FERNET_KEY_HINT = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


# The platform's own WhatsApp sender in sandbox mode: known only to the Twilio simulator.
SANDBOX_PLATFORM_NUMBER = "+254700009000"
SANDBOX_PLATFORM_SID = "AC" + "0" * 31 + "1"
SANDBOX_PLATFORM_TOKEN = "sandbox-platform-auth-token"


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed."""


def default_database_url() -> str:
    """The embedded default: a SQLite file under <repo>/var/."""
    return f"sqlite:///{REPO_ROOT / 'var' / 'app.db'}"


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ConfigurationError(f"BACKEND_PORT must be an integer, got {value!r}") from None
    if not 0 < port < 65536:
        raise ConfigurationError(f"BACKEND_PORT must be between 1 and 65535, got {port}")
    return port


def _minutes(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        raise ConfigurationError(
            f"ORDER_PAYMENT_TIMEOUT_MINUTES must be an integer, got {value!r}"
        ) from None
    if minutes < 1:
        raise ConfigurationError("ORDER_PAYMENT_TIMEOUT_MINUTES must be at least 1")
    return minutes


def _positive(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return number


def _seconds(name: str, value: str) -> float:
    """A non-negative number of seconds (0 switches the feature off)."""
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}") from None
    if not 0 <= number < 3600:
        raise ConfigurationError(f"{name} must be between 0 and 3600 seconds")
    return number


def _rate(name: str, value: str) -> str:
    """A Flask-Limiter rate such as "20/minute" or "100 per hour;1000 per day"."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a rate such as 20/minute, got {value!r}") from None
    return value


def _non_negative(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise ConfigurationError(f"{name} must be 0 or more")
    return number


def _callback_sources(value: str, sandbox: bool) -> tuple[str, ...]:
    """MPESA_CALLBACK_IPS: addresses or networks, `safaricom` for Safaricom's published list,
    `any` for no check. Unset: Safaricom's list (plus loopback in sandbox mode, where the
    simulators call back from this machine)."""
    import ipaddress

    names = _keys(value) or (("safaricom", *LOOPBACK) if sandbox else ("safaricom",))
    if names == ("any",):
        return ()
    sources: list[str] = []
    for name in names:
        if name == "safaricom":
            sources.extend(SAFARICOM_CALLBACK_IPS)
            continue
        try:
            ipaddress.ip_network(name, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"MPESA_CALLBACK_IPS: {name!r} is not an address, a network, 'safaricom' or "
                "'any'") from None
        sources.append(name)
    return tuple(sources)


def _keys(value: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in value.split(",") if key.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable; secrets are hidden from repr."""

    database_url: str = field(default_factory=default_database_url)
    redis_url: str = ""
    # Redis unreachable: run jobs in this process instead of failing (JOBS_FALLBACK_IN_PROCESS).
    jobs_fallback_in_process: bool = True
    # Outbox: a queued reply still unsent this long after it was enqueued on RQ is also sent from
    # the process that queued it (0: never); a queued row untouched this long is re-enqueued by
    # the sweep; a reply unsent after this many hours is failed instead (the WhatsApp window).
    outbox_in_process_after_seconds: float = 2.0
    outbox_stale_seconds: int = 60
    outbox_give_up_hours: int = 24
    # /v1/health is degraded when the oldest job of a queue waits longer than this.
    health_queue_lag_seconds: int = 60
    service_token: str = field(default="", repr=False)
    # First key encrypts; every key decrypts (rotation through MultiFernet).
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    hash_key: str = field(default="", repr=False)
    sandbox: bool = True
    backend_port: int = DEFAULT_BACKEND_PORT
    twilio_sandbox_api_url: str = ""
    twilio_api_url: str = DEFAULT_TWILIO_API_URL
    # Sandbox tenants get list pickers and reply buttons from the simulator (SANDBOX_INTERACTIVE=1);
    # off by default: the demo's chat and the sandbox log read bodies, where the numbered text
    # shows every option.
    sandbox_interactive: bool = False
    # Unpaid orders are cancelled (stock released) this long after they were placed.
    order_payment_timeout_minutes: int = 30
    # A booking with a deposit holds its seat this long unpaid (a service's hold_minutes wins).
    deposit_hold_minutes: int = 15
    # Rasa's HTTP API (rasa run --enable-api --auth-token): resuming a conversation a person took.
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: str = field(default="", repr=False)
    rasa_timeout_seconds: float = 5.0
    # The simulator (/app/simulator, sandbox mode only): where "save as test story" also writes
    # the story in development (SIMULATOR_STORIES_DIR, e.g. tests/stories; empty: download only),
    # and the public base URL the WhatsApp channel checks signatures against (WHATSAPP_PUBLIC_URL,
    # as the channel reads it; empty: the Rasa URL the webhook is posted to).
    simulator_stories_dir: str = ""
    # The NLU review loop's candidate data in development (NLU_REVIEW_DIR, e.g. data/nlu: each
    # language's reviewed messages go to <dir>/<language>/review.yml; empty: download only).
    nlu_review_dir: str = ""
    # The model registry (/app/models): where candidates are trained to (NLU_MODELS_DIR; empty:
    # <repo>/models/registry), the training config (NLU_TRAIN_CONFIG, default config.yml), the
    # evaluation's sentences per set and language (NLU_EVAL_LIMIT, 0: every one, as `make eval`),
    # the rasa servers a promoted model is swapped into (NLU_RASA_URLS, comma-separated; empty:
    # RASA_URL) and how long one swap may take (NLU_SWAP_TIMEOUT_SECONDS).
    nlu_models_dir: str = ""
    nlu_train_config: str = ""
    nlu_eval_limit: int = 0
    nlu_rasa_urls: tuple[str, ...] = ()
    nlu_swap_timeout_seconds: float = 300.0
    # Behind HAProxy (the production profile): its admin socket, so each replica named in
    # NLU_RASA_URLS as backend/server=url is drained before its swap and put back after.
    nlu_haproxy_socket: str = ""
    whatsapp_public_url: str = ""
    # Payments: the base URL providers call back (PUBLIC_URL), the sandbox provider simulators,
    # the M-Pesa callback source allow-list (empty: any source; from_env defaults it to
    # Safaricom's published addresses), unanswered STK pushes, withdrawals.
    public_url: str = ""
    payments_sandbox_url: str = ""
    mpesa_callback_ips: tuple[str, ...] = ()
    stk_expiry_seconds: int = 120
    min_withdrawal_minor: int = 10_000
    # The platform's Daraja B2C account that pays merchants' withdrawals (PAYOUT_*).
    payout_daraja_url: str = ""
    payout_consumer_key: str = field(default="", repr=False)
    payout_consumer_secret: str = field(default="", repr=False)
    payout_shortcode: str = ""
    payout_initiator: str = ""
    payout_security_credential: str = field(default="", repr=False)
    # Subscriptions (backend/services/billing): the platform's own WhatsApp number and Twilio
    # account that send owners' billing reminders and staff password-reset codes (PLATFORM_*; in
    # sandbox mode a simulator-only account, SANDBOX_PLATFORM_*, when unset), the platform's Daraja paybill that charges subscriptions by STK push
    # (BILLING_*; the simulator's sandbox shortcode when unset in sandbox mode), and the tax
    # added to each invoice in basis points (BILLING_TAX_BASIS_POINTS; 0: prices include it).
    platform_whatsapp_number: str = ""
    platform_twilio_account_sid: str = ""
    platform_twilio_auth_token: str = field(default="", repr=False)
    billing_daraja_url: str = ""
    billing_consumer_key: str = field(default="", repr=False)
    billing_consumer_secret: str = field(default="", repr=False)
    billing_shortcode: str = ""
    billing_passkey: str = field(default="", repr=False)
    billing_tax_basis_points: int = 0
    # Store integrations (WooCommerce, Shopify): each request's timeout, retries of a timeout or
    # 5xx (backoff 0.5, 1, 2 … s; 429s wait their Retry-After and are not counted), and how
    # often the schedule syncs what changed upstream.
    store_timeout_seconds: float = 20.0
    store_retries: int = 3
    store_sync_every_seconds: int = 300
    # Card renewals (backend/services/billing/cards.py): the platform's own Paystack and Stripe
    # accounts (BILLING_PAYSTACK_*, BILLING_STRIPE_*; the simulators' platform accounts when
    # unset in sandbox mode) and the amount Paystack's card check charges
    # (BILLING_CARD_CHECK_MINOR; Stripe saves a card without a charge).
    billing_paystack_url: str = ""
    billing_paystack_secret_key: str = field(default="", repr=False)
    billing_stripe_url: str = ""
    billing_stripe_secret_key: str = field(default="", repr=False)
    billing_stripe_webhook_secret: str = field(default="", repr=False)
    billing_card_check_minor: int = 100
    # GET /metrics: this bearer token (the service token works too), or none with metrics_public.
    metrics_token: str = field(default="", repr=False)
    metrics_public: bool = False
    # Rate limits (Flask-Limiter): shared in RATE_LIMIT_STORAGE_URL (default REDIS_URL; without
    # either, per process). Failed credentials per client IP; requests per merchant API key by
    # the tenant's tier. TRUSTED_PROXY_HOPS: proxies whose X-Forwarded-For names the client.
    rate_limits_enabled: bool = True
    rate_limit_storage_url: str = ""
    rate_limit_auth_failures: str = "20/minute"
    rate_limit_tiers: tuple[tuple[str, str], ...] = (
        ("starter", "300/minute"), ("growth", "1200/minute"), ("enterprise", "6000/minute"))
    trusted_proxy_hops: int = 0
    # Staff accounts (backend/services/accounts): browser sessions last SESSION_LIFETIME_HOURS;
    # the cookie is Secure unless SESSION_COOKIE_SECURE=0 (plain-HTTP local runs); an account is
    # locked LOGIN_LOCKOUT_MINUTES after LOGIN_LOCKOUT_FAILURES wrong passwords in a row;
    # invitations expire after INVITATION_DAYS, password-reset codes after PASSWORD_RESET_MINUTES.
    session_lifetime_hours: int = 12
    session_cookie_secure: bool = True
    login_lockout_failures: int = 5
    login_lockout_minutes: int = 15
    invitation_days: int = 7
    password_reset_minutes: int = 15
    # argon2id cost of new password hashes (RFC 9106's low-memory profile by default).
    password_hash_memory_kib: int = 65536
    password_hash_time_cost: int = 3

    def __post_init__(self) -> None:
        if self.sandbox and not self.platform_whatsapp_number:
            object.__setattr__(self, "platform_whatsapp_number", SANDBOX_PLATFORM_NUMBER)
            object.__setattr__(self, "platform_twilio_account_sid", SANDBOX_PLATFORM_SID)
            object.__setattr__(self, "platform_twilio_auth_token", SANDBOX_PLATFORM_TOKEN)
        if not self.twilio_sandbox_api_url:
            url = f"http://127.0.0.1:{self.backend_port}/sandbox/twilio"
            object.__setattr__(self, "twilio_sandbox_api_url", url)
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://127.0.0.1:{self.backend_port}")
        if not self.payments_sandbox_url:
            url = f"http://127.0.0.1:{self.backend_port}/sandbox"
            object.__setattr__(self, "payments_sandbox_url", url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (nothing is validated or connected here)."""
        env = os.environ if environ is None else environ
        sandbox = _flag(env.get("SANDBOX", "1"))
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(),
            redis_url=env.get("REDIS_URL", "").strip(),
            jobs_fallback_in_process=_flag(env.get("JOBS_FALLBACK_IN_PROCESS", "1")),
            outbox_in_process_after_seconds=_seconds(
                "OUTBOX_IN_PROCESS_AFTER_SECONDS", env.get("OUTBOX_IN_PROCESS_AFTER_SECONDS") or "2"
            ),
            outbox_stale_seconds=_positive(
                "OUTBOX_STALE_SECONDS", env.get("OUTBOX_STALE_SECONDS") or "60"
            ),
            outbox_give_up_hours=_positive(
                "OUTBOX_GIVE_UP_HOURS", env.get("OUTBOX_GIVE_UP_HOURS") or "24"
            ),
            health_queue_lag_seconds=_positive(
                "HEALTH_QUEUE_LAG_SECONDS", env.get("HEALTH_QUEUE_LAG_SECONDS") or "60"
            ),
            service_token=env.get("SERVICE_TOKEN", ""),
            encryption_keys=_keys(env.get("ENCRYPTION_KEY", "")),
            hash_key=env.get("HASH_KEY", ""),
            sandbox=sandbox,
            backend_port=_port(env.get("BACKEND_PORT") or str(DEFAULT_BACKEND_PORT)),
            twilio_sandbox_api_url=env.get("TWILIO_SANDBOX_API_URL", "").strip(),
            twilio_api_url=env.get("TWILIO_API_URL", "").strip() or DEFAULT_TWILIO_API_URL,
            sandbox_interactive=_flag(env.get("SANDBOX_INTERACTIVE", "0")),
            order_payment_timeout_minutes=_minutes(
                env.get("ORDER_PAYMENT_TIMEOUT_MINUTES") or "30"
            ),
            deposit_hold_minutes=_positive("DEPOSIT_HOLD_MINUTES",
                                           env.get("DEPOSIT_HOLD_MINUTES") or "15"),
            rasa_url=env.get("RASA_URL", "").strip() or DEFAULT_RASA_URL,
            rasa_token=env.get("RASA_TOKEN", ""),
            simulator_stories_dir=env.get("SIMULATOR_STORIES_DIR", "").strip(),
            nlu_review_dir=env.get("NLU_REVIEW_DIR", "").strip(),
            nlu_models_dir=env.get("NLU_MODELS_DIR", "").strip(),
            nlu_train_config=env.get("NLU_TRAIN_CONFIG", "").strip(),
            nlu_eval_limit=int(env.get("NLU_EVAL_LIMIT") or "0"),
            nlu_rasa_urls=tuple(u.strip().rstrip("/") for u in
                                env.get("NLU_RASA_URLS", "").split(",") if u.strip()),
            nlu_swap_timeout_seconds=float(env.get("NLU_SWAP_TIMEOUT_SECONDS") or "300"),
            nlu_haproxy_socket=env.get("NLU_HAPROXY_SOCKET", "").strip(),
            whatsapp_public_url=env.get("WHATSAPP_PUBLIC_URL", "").strip().rstrip("/"),
            store_timeout_seconds=float(_positive(
                "STORE_TIMEOUT_SECONDS", env.get("STORE_TIMEOUT_SECONDS") or "20")),
            store_retries=int(env.get("STORE_RETRIES") or "3"),
            store_sync_every_seconds=_positive(
                "STORE_SYNC_EVERY_SECONDS", env.get("STORE_SYNC_EVERY_SECONDS") or "300"),
            public_url=(env.get("PUBLIC_URL") or env.get("BACKEND_URL") or "").strip().rstrip("/"),
            payments_sandbox_url=env.get("PAYMENTS_SANDBOX_URL", "").strip().rstrip("/"),
            mpesa_callback_ips=_callback_sources(env.get("MPESA_CALLBACK_IPS", ""), sandbox),
            stk_expiry_seconds=_positive("STK_EXPIRY_SECONDS", env.get("STK_EXPIRY_SECONDS") or "120"),
            min_withdrawal_minor=_positive(
                "WALLET_MIN_WITHDRAWAL_MINOR", env.get("WALLET_MIN_WITHDRAWAL_MINOR") or "10000"
            ),
            payout_daraja_url=env.get("PAYOUT_DARAJA_URL", "").strip().rstrip("/"),
            payout_consumer_key=env.get("PAYOUT_CONSUMER_KEY", ""),
            payout_consumer_secret=env.get("PAYOUT_CONSUMER_SECRET", ""),
            payout_shortcode=env.get("PAYOUT_SHORTCODE", ""),
            payout_initiator=env.get("PAYOUT_INITIATOR", ""),
            payout_security_credential=env.get("PAYOUT_SECURITY_CREDENTIAL", ""),
            platform_whatsapp_number=env.get("PLATFORM_WHATSAPP_NUMBER", "").strip(),
            platform_twilio_account_sid=env.get("PLATFORM_TWILIO_ACCOUNT_SID", "").strip(),
            platform_twilio_auth_token=env.get("PLATFORM_TWILIO_AUTH_TOKEN", ""),
            billing_daraja_url=env.get("BILLING_DARAJA_URL", "").strip().rstrip("/"),
            billing_consumer_key=env.get("BILLING_CONSUMER_KEY", ""),
            billing_consumer_secret=env.get("BILLING_CONSUMER_SECRET", ""),
            billing_shortcode=env.get("BILLING_SHORTCODE", "").strip(),
            billing_passkey=env.get("BILLING_PASSKEY", ""),
            billing_tax_basis_points=_non_negative(
                "BILLING_TAX_BASIS_POINTS", env.get("BILLING_TAX_BASIS_POINTS") or "0"),
            billing_paystack_url=env.get("BILLING_PAYSTACK_URL", "").strip().rstrip("/"),
            billing_paystack_secret_key=env.get("BILLING_PAYSTACK_SECRET_KEY", "").strip(),
            billing_stripe_url=env.get("BILLING_STRIPE_URL", "").strip().rstrip("/"),
            billing_stripe_secret_key=env.get("BILLING_STRIPE_SECRET_KEY", "").strip(),
            billing_stripe_webhook_secret=env.get("BILLING_STRIPE_WEBHOOK_SECRET", "").strip(),
            billing_card_check_minor=_non_negative(
                "BILLING_CARD_CHECK_MINOR", env.get("BILLING_CARD_CHECK_MINOR") or "100"),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
            metrics_public=_flag(env.get("METRICS_PUBLIC", "0")),
            rate_limits_enabled=_flag(env.get("RATE_LIMITS_ENABLED", "1")),
            rate_limit_storage_url=env.get("RATE_LIMIT_STORAGE_URL", "").strip(),
            rate_limit_auth_failures=_rate(
                "RATE_LIMIT_AUTH_FAILURES", env.get("RATE_LIMIT_AUTH_FAILURES") or "20/minute"),
            rate_limit_tiers=tuple(
                (tier, _rate(f"RATE_LIMIT_{tier.upper()}",
                             env.get(f"RATE_LIMIT_{tier.upper()}") or default))
                for tier, default in cls.rate_limit_tiers),
            trusted_proxy_hops=_non_negative("TRUSTED_PROXY_HOPS",
                                             env.get("TRUSTED_PROXY_HOPS") or "0"),
            session_lifetime_hours=_positive(
                "SESSION_LIFETIME_HOURS", env.get("SESSION_LIFETIME_HOURS") or "12"),
            session_cookie_secure=_flag(env.get("SESSION_COOKIE_SECURE", "1")),
            login_lockout_failures=_positive(
                "LOGIN_LOCKOUT_FAILURES", env.get("LOGIN_LOCKOUT_FAILURES") or "5"),
            login_lockout_minutes=_positive(
                "LOGIN_LOCKOUT_MINUTES", env.get("LOGIN_LOCKOUT_MINUTES") or "15"),
            invitation_days=_positive("INVITATION_DAYS", env.get("INVITATION_DAYS") or "7"),
            password_reset_minutes=_positive(
                "PASSWORD_RESET_MINUTES", env.get("PASSWORD_RESET_MINUTES") or "15"),
            password_hash_memory_kib=_positive(
                "PASSWORD_HASH_MEMORY_KIB", env.get("PASSWORD_HASH_MEMORY_KIB") or "65536"),
            password_hash_time_cost=_positive(
                "PASSWORD_HASH_TIME_COST", env.get("PASSWORD_HASH_TIME_COST") or "3"),
        )

    def require_secrets(self) -> None:
        """Fail with one clear message naming every missing secret."""
        required = {
            "SERVICE_TOKEN": self.service_token,
            "ENCRYPTION_KEY": self.encryption_keys,
            "HASH_KEY": self.hash_key,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ConfigurationError(
                f"Missing required setting(s): {', '.join(missing)}. Set them in the environment; "
                f"ENCRYPTION_KEY is one or more comma-separated Fernet keys ({FERNET_KEY_HINT})."
            )

    def twilio_base_url(self, sandbox_tenant: bool) -> str:
        """Where the Twilio REST API lives for a tenant: the simulator for sandbox tenants."""
        return self.twilio_sandbox_api_url if sandbox_tenant else self.twilio_api_url

    def twilio_content_url(self, sandbox_tenant: bool) -> str:
        """Where Twilio's Content API (templates and their approval) lives for a tenant."""
        if sandbox_tenant:
            return self.twilio_sandbox_api_url.rstrip("/") + "/content"
        return "https://content.twilio.com"
