"""Carts (one per customer) and orders with their lines, priced from the catalog when placed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, IdType, UtcDateTime, utcnow

PRODUCT_LINE = "product"
DELIVERY_LINE = "delivery"

ORDER_STATUS_CHECK = (
    "status IN ('draft', 'pending_payment', 'paid', 'fulfilled', 'delivered', "
    "'cancelled', 'refunded', 'returned')"
)


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("tenant_id", "customer_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The last change to its items (the abandoned-cart reminder counts from here).
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # When an item went into the empty cart: one reminder per filling, never twice.
    filled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", order_by="CartItem.id", cascade="all, delete-orphan"
    )


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("product_variants.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)

    cart: Mapped[Cart] = relationship(back_populates="items")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(ORDER_STATUS_CHECK, name="status_known"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        Index("ix_orders_tenant_id_status", "tenant_id", "status"),
        Index("ix_orders_tenant_id_customer_id", "tenant_id", "customer_id"),
        Index("ix_orders_status_placed_at", "status", "placed_at"),
        Index("ix_orders_tenant_id_placed_at", "tenant_id", "placed_at"),  # analytics
        # The orders page (newest first) and today's orders on the overview.
        Index("ix_orders_tenant_id_id", "tenant_id", "id"),
        Index("ix_orders_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # Set when stock was reserved (draft → pending_payment); unpaid orders expire from here.
    placed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Set when shipped (fulfilled), if the merchant gives them: the customer's message says them.
    courier: Mapped[str | None] = mapped_column(String(64))
    tracking: Mapped[str | None] = mapped_column(String(64))
    # Delivery (backend/domain/delivery.py): None for orders made before it existed.
    fulfilment: Mapped[str | None] = mapped_column(String(16))  # pickup | delivery
    delivery_address_encrypted: Mapped[str | None] = mapped_column(Text)
    delivery_latitude: Mapped[float | None] = mapped_column(Float)
    delivery_longitude: Mapped[float | None] = mapped_column(Float)
    recipient_phone_encrypted: Mapped[str | None] = mapped_column(Text)  # E.164
    delivery_zone: Mapped[str | None] = mapped_column(String(100))  # the zone's name then
    expected_time: Mapped[str | None] = mapped_column(String(100))
    # Outside every zone with the "call_customer" fallback: the merchant calls about the fee.
    delivery_needs_call: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL"), index=True
    )
    # Copied when the order is placed: later catalog edits never change an order.
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_minor: Mapped[int] = mapped_column(BigInteger)
    # "product", "delivery" (the fee: no variant, no stock, part of the total), or "deposit"
    # (a booking's deposit: no variant, no stock; backend/domain/deposits.py).
    kind: Mapped[str] = mapped_column(String(16), default=PRODUCT_LINE,
                                      server_default=PRODUCT_LINE)

    order: Mapped[Order] = relationship(back_populates="lines")


class IdempotencyKey(Base):
    """A POST already answered under this Idempotency-Key: its body's hash and what it made."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
