"""Schemas of the health check."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Count


class ChecksSchema(Schema):
    database = fields.Str(validate=validate.OneOf(["ok", "down"]))
    redis = fields.Str(validate=validate.OneOf(["ok", "down", "disabled"]))


class QueueLagSchema(Schema):
    depth = Count(metadata={"description": "Jobs (or unsent replies) waiting"})
    oldest_seconds = fields.Float(
        allow_none=True, metadata={"description": "Age of the oldest one; null when empty"}
    )


class WorkersSchema(Schema):
    count = Count(metadata={"description": "RQ workers registered with Redis"})
    last_heartbeat = fields.DateTime(allow_none=True)


class HealthSchema(Schema):
    status = fields.Str(
        validate=validate.OneOf(["ok", "degraded", "down"]),
        metadata={"description": "down (503): cannot serve; degraded (200): serving, see problems"},
    )
    checks = fields.Nested(ChecksSchema)
    problems = fields.List(fields.Str())
    jobs = fields.Str(
        validate=validate.OneOf(["rq", "in_process", "in_process_fallback", "none"]),
        metadata={"description": "Where jobs run now (in_process_fallback: Redis is down)"},
    )
    workers = fields.Nested(WorkersSchema, allow_none=True)
    queues = fields.Dict(keys=fields.Str(), values=fields.Nested(QueueLagSchema))
    outbox = fields.Nested(QueueLagSchema, allow_none=True)
