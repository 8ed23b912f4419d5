"""Lambda function that delivers webhooks from the outbox: woken by its SQS queue and a schedule (no HTTP route)."""

from continuum.aws.dispatch import webhook_dispatch_handler

handler = webhook_dispatch_handler()
