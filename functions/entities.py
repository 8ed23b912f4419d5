"""Lambda function for the entities and stats routes (wiring only; the core does the work)."""

from continuum.aws.handler import lambda_handler_for

handler = lambda_handler_for("entities")
