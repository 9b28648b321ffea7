"""Schemas of the health check."""

from marshmallow import Schema, fields, validate


class ChecksSchema(Schema):
    database = fields.Str(validate=validate.OneOf(["ok", "down"]))
    redis = fields.Str(validate=validate.OneOf(["ok", "down", "disabled"]))


class HealthSchema(Schema):
    status = fields.Str(validate=validate.OneOf(["ok", "degraded"]))
    checks = fields.Nested(ChecksSchema)
