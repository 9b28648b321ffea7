"""SQLAlchemy 2 typed models; importing this package registers every table on Base.metadata."""

from backend.models.base import Base
from backend.models.catalog import Product, ProductVariant
from backend.models.customer import Customer
from backend.models.messages import OUTBOUND_STATUSES, InboundMessage, OutboundMessage
from backend.models.sandbox import SandboxMessage
from backend.models.tenant import ApiKey, Tenant

__all__ = [
    "OUTBOUND_STATUSES",
    "ApiKey",
    "Base",
    "Customer",
    "InboundMessage",
    "OutboundMessage",
    "Product",
    "ProductVariant",
    "SandboxMessage",
    "Tenant",
]
