"""AWS Lambda entry points, one module per endpoint group (see serverless.yml).

Lambda imports this package before the function's module: the garbage collector is paused
for INIT from here on (continuum/aws/init_phase.py says why and when it resumes)."""

import continuum.aws.init_phase  # noqa: F401  (first: the pause must cover every import after it)
