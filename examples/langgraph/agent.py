"""A LangGraph ReAct agent using every tool behind multi-mcp, loaded with langchain-mcp-adapters.

    pip install -r examples/langgraph/requirements.txt langchain-openai
    export MODEL_NAME=gpt-4o-mini BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-...
    python examples/langgraph/agent.py "What is 2 + 3?"        # against http://127.0.0.1:8080/mcp

MULTI_MCP_URL picks the proxy (default http://127.0.0.1:8080/mcp; a URL ending in /sse uses legacy SSE).
The test (test/e2e/python-clients.test.ts) runs `run()` with a scripted chat model instead of a real one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_mcp_adapters.client import MultiServerMCPClient
from langgraph.prebuilt import create_react_agent


def connection(url: str) -> dict[str, Any]:
    """The langchain-mcp-adapters connection for the proxy: Streamable HTTP at /mcp, legacy SSE at /sse."""
    transport = "sse" if url.rstrip("/").endswith("/sse") else "streamable_http"
    return {"url": url, "transport": transport}


def real_model() -> BaseChatModel:
    """An OpenAI-compatible model, configured like the original multi-mcp's example (.env or env)."""
    from langchain_openai import ChatOpenAI  # pip install langchain-openai

    return ChatOpenAI(
        model=os.environ["MODEL_NAME"],
        base_url=os.environ.get("BASE_URL"),
        api_key=os.environ["OPENAI_API_KEY"],
    )


async def run(url: str, model: BaseChatModel, question: str) -> list[Any]:
    """Loads the proxy's aggregated tools, lets the agent answer `question`, returns its messages."""
    client = MultiServerMCPClient({"multi-mcp": connection(url)})
    tools = await client.get_tools()
    agent = create_react_agent(model, tools)
    result = await agent.ainvoke({"messages": [("user", question)]})
    return result["messages"]


async def main() -> None:
    url = os.environ.get("MULTI_MCP_URL", "http://127.0.0.1:8080/mcp")
    question = sys.argv[1] if len(sys.argv) > 1 else "What is 2 + 3? Use the calculator."
    for message in await run(url, real_model(), question):
        message.pretty_print()


if __name__ == "__main__":
    asyncio.run(main())
