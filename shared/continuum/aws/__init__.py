"""AWS Lambda adapters: handler wiring, Powertools logging and EMF metrics, secrets from SSM
or Secrets Manager, DynamoDB idempotency and S3 backups. Nothing here is imported by the
core; every module imports boto3 only when it is first used."""
