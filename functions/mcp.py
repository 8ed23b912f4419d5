"""Lambda function for the MCP server at /mcp (wiring only; the core does the work)."""

from continuum.aws.handler import lambda_handler_for

handler = lambda_handler_for("mcp")
