"""Lambda function for the webhook routes (wiring only; the core does the work)."""

from continuum.aws.handler import lambda_handler_for

handler = lambda_handler_for("webhooks")
