"""SQLAlchemy 2 typed models; importing this package registers every table on Base.metadata but
the simulators' own (backend.sandbox.models, imported by the migrations' env)."""

from backend.models.accounts import (
    Invitation,
    Membership,
    PasswordResetCode,
    PersonalAccessToken,
    ScopeOverride,
    TenantRole,
    User,
    UserSession,
)
from backend.models.analytics import DailyRollup, FaqAnswerLog
from backend.models.audit import AuditLog
from backend.models.base import Base
from backend.models.billing import (
    BillingCard,
    BillingCharge,
    BillingReminder,
    DiscountCode,
    Invoice,
    InvoiceCounter,
    Subscription,
    TierRow,
)
from backend.models.bookings import Appointment, AvailabilityWindow, Service, ServiceVariant
from backend.models.campaigns import Campaign, CampaignRecipient, CampaignVariant, CustomerTag
from backend.models.catalog import Product, ProductVariant
from backend.models.conversation import CONVERSATION_STATUSES, Conversation
from backend.models.customer import CONSENT_KINDS, ConsentEvent, Customer
from backend.models.delivery import CustomerDeliveryAddress, DeliverySettings, DeliveryZone
from backend.models.handoff import HANDOFF_REASONS, ConversationHandoff
from backend.models.integrations import IntegrationRun, StoreIntegration, StoreStockAdjustment
from backend.models.knowledge import KbDocument, KbEntry, KbPassage, KbState
from backend.models.llm import LlmCall
from backend.models.messages import (
    MESSAGE_KINDS,
    AutomaticMessage,
    OUTBOUND_STATUSES,
    InboundMessage,
    MessageStatusEvent,
    MessageTemplate,
    MessageTemplateVariant,
    InteractiveContent,
    OutboundMessage,
    UsageWarning,
    UsageWarningNotice,
)
from backend.models.nlu_log import NluClassification, NluModel, NluReview
from backend.models.operator import FeeWaiver, TenantOnboarding, TenantStatusChange
from backend.models.orders import Cart, CartItem, IdempotencyKey, Order, OrderLine
from backend.models.payments import Payment, PaymentEvent, PaymentSettings, Refund
from backend.models.tenant import ApiKey, Tenant
from backend.models.wallet import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    WalletAuditEvent,
    Withdrawal,
)

__all__ = [
    "BillingCard",
    "BillingCharge",
    "BillingReminder",
    "DiscountCode",
    "Invoice",
    "InvoiceCounter",
    "Subscription",
    "TierRow",
    "Invitation",
    "Membership",
    "PasswordResetCode",
    "PersonalAccessToken",
    "ScopeOverride",
    "TenantRole",
    "User",
    "UserSession",
    "AuditLog",
    "DailyRollup",
    "FaqAnswerLog",
    "AutomaticMessage",
    "Campaign",
    "CampaignRecipient",
    "CampaignVariant",
    "CustomerTag",
    "CONSENT_KINDS",
    "CustomerDeliveryAddress",
    "DeliverySettings",
    "DeliveryZone",
    "CONVERSATION_STATUSES",
    "HANDOFF_REASONS",
    "MESSAGE_KINDS",
    "OUTBOUND_STATUSES",
    "MessageStatusEvent",
    "MessageTemplate",
    "MessageTemplateVariant",
    "InteractiveContent",
    "UsageWarning",
    "UsageWarningNotice",
    "ApiKey",
    "Appointment",
    "AvailabilityWindow",
    "Base",
    "Cart",
    "CartItem",
    "ConsentEvent",
    "Conversation",
    "ConversationHandoff",
    "Customer",
    "IdempotencyKey",
    "KbDocument",
    "KbEntry",
    "KbPassage",
    "KbState",
    "LlmCall",
    "InboundMessage",
    "IntegrationRun",
    "StoreIntegration",
    "StoreStockAdjustment",
    "NluClassification",
    "NluModel",
    "NluReview",
    "Order",
    "OrderLine",
    "OutboundMessage",
    "Product",
    "ProductVariant",
    "Service",
    "ServiceVariant",
    "Tenant",
    "TenantOnboarding",
    "TenantStatusChange",
    "FeeWaiver",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Payment",
    "PaymentEvent",
    "PaymentSettings",
    "Refund",
    "WalletAuditEvent",
    "Withdrawal",
]
