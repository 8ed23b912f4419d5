"""Lambda function for the mem0-compatible routes (wiring only; the core does the work)."""

from continuum.aws.handler import lambda_handler_for

handler = lambda_handler_for("mem0")
