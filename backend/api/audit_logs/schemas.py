"""Schemas of the audit log."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Id, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema


class AuditQuerySchema(PageQuerySchema):
    actor = fields.Str(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "user:<id>, api_key:<id>, service or system"})
    action = fields.Str(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "e.g. product.update, or a generic record's <endpoint>.<method>"})
    target_type = fields.Str(load_default=None, validate=validate.Length(max=32))
    target_id = fields.Str(load_default=None, validate=validate.Length(max=64))
    start = fields.AwareDateTime(load_default=None, data_key="from",
                                 metadata={"description": "ISO 8601 with offset (inclusive)"})
    end = fields.AwareDateTime(load_default=None, data_key="to",
                               metadata={"description": "ISO 8601 with offset (exclusive)"})


class AuditLogSchema(Schema):
    id = Id()
    actor = fields.Str()
    action = fields.Str()
    target_type = fields.Str(allow_none=True)
    target_id = fields.Str(allow_none=True)
    before = fields.Dict(allow_none=True, metadata={"description": "Personal data masked"})
    after = fields.Dict(allow_none=True, metadata={"description": "Personal data masked"})
    route = fields.Str(allow_none=True, metadata={"description": "METHOD /rule of the request"})
    status = BoundedInt(minimum=100, maximum=599, allow_none=True, metadata={
        "description": "HTTP status (generic records; a service's record exists only if the "
                       "change committed)"})
    request_id = fields.Str(allow_none=True)
    ip = fields.Str(allow_none=True)
    created_at = UtcDateTime()


AuditLogPageSchema = page_schema(AuditLogSchema, "AuditLogPage")
