"""AWS Lambda entry points, one module per endpoint group (see serverless.yml)."""
