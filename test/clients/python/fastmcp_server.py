"""A server written the way many users' servers are: FastMCP from the official Python SDK.

    python fastmcp_server.py stdio
    python fastmcp_server.py sse PORT     # serves http://127.0.0.1:PORT/sse
"""

import sys

from mcp.server.fastmcp import FastMCP

port = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
server = FastMCP("py-greeter", host="127.0.0.1", port=port, log_level="WARNING")


@server.tool()
def greet(name: str) -> str:
    """Greets someone by name, from Python."""
    return f"Hello, {name}, from FastMCP!"


@server.prompt()
def welcome(name: str) -> str:
    """A welcome message."""
    return f"Welcome, {name}."


if __name__ == "__main__":
    server.run(transport=sys.argv[1] if len(sys.argv) > 1 else "stdio")
