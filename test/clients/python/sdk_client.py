"""The official Python MCP SDK as a client of multi-mcp; prints what it saw as one JSON line.

    python sdk_client.py stdio TOOL ARGS_JSON -- COMMAND [ARG...]   # spawns the proxy over stdio
    python sdk_client.py sse|http TOOL ARGS_JSON URL
"""

import asyncio
import json
import sys
from contextlib import AsyncExitStack

from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client

TIMEOUT_S = 30


async def session_over(stack: AsyncExitStack, mode: str, target: list[str]) -> ClientSession:
    if mode == "stdio":
        streams = await stack.enter_async_context(
            stdio_client(StdioServerParameters(command=target[0], args=target[1:]))
        )
    elif mode == "sse":
        streams = await stack.enter_async_context(sse_client(target[0], timeout=TIMEOUT_S))
    elif mode == "http":
        read, write, _ = await stack.enter_async_context(streamablehttp_client(target[0], timeout=TIMEOUT_S))
        streams = (read, write)
    else:
        raise SystemExit(f"mode must be stdio, sse or http, got {mode!r}")
    return await stack.enter_async_context(ClientSession(*streams))


async def main() -> None:
    mode, tool, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    target = sys.argv[5:] if mode == "stdio" else sys.argv[4:]
    async with AsyncExitStack() as stack:
        session = await session_over(stack, mode, target)
        init = await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool(tool, args)
        print(
            json.dumps(
                {
                    "serverInfo": init.serverInfo.name,
                    "protocolVersion": init.protocolVersion,
                    "tools": [t.name for t in tools.tools],
                    "isError": bool(result.isError),
                    "text": [c.text for c in result.content if getattr(c, "type", None) == "text"],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), TIMEOUT_S))
