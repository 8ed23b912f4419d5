"""The MCP server: CONTINUUM's memory as tools an agent calls (Model Context Protocol).

- `tools.py`: the tools, their descriptions and typed arguments, over a `Backend`.
- `backend.py`: the backend protocol and its local implementation (the engine, one tenant).
- the backend over the Python SDK (`continuum mcp --url ...`) is in `cli/mcp.py`.
- `protocol.py`: a stateless JSON-RPC implementation of the streamable-HTTP transport,
  served at `/mcp` by every HTTP runtime (local server, Lambda, Worker).
- `stdio.py`: the same tools on the `mcp` SDK's `MCPServer`, over stdio (`continuum mcp`).
"""
