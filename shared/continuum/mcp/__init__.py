"""The MCP server: CONTINUUM's memory as tools an agent calls (Model Context Protocol).

- `tools.py`: the tools, their descriptions and typed arguments, over a `Backend`.
- `backend.py`: the backend protocol and its local implementation (the engine, one tenant).
- `remote.py`: the backend over the Python SDK (`continuum mcp --url ...`).
- `protocol.py`: a stateless JSON-RPC implementation of the streamable-HTTP transport,
  served at `/mcp` by every HTTP runtime (local server, Lambda, Worker).
- `stdio.py`: the same tools on the `mcp` SDK's `MCPServer`, over stdio (`continuum mcp`).
"""
