"""Lambda function that applies pending database migrations (`sls invoke -f migrate` after deploy)."""

from continuum.aws.handler import migration_handler

handler = migration_handler()
