"""Runs examples/langgraph/agent.py with a scripted chat model: one tool call, then a final answer.

    python langgraph_agent.py URL TOOL ARGS_JSON    # prints the agent's messages as JSON
"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "langgraph"))
from agent import run  # noqa: E402

TIMEOUT_S = 60


class ScriptedChatModel(GenericFakeChatModel):
    """langchain-core's fake chat model, plus the bind_tools a ReAct agent needs (tools are ignored)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedChatModel":
        return self


def as_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


async def main() -> None:
    url, tool, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    model = ScriptedChatModel(
        messages=iter(
            [
                AIMessage(content="", tool_calls=[{"name": tool, "args": args, "id": "call-1"}]),
                AIMessage(content="The tool has answered."),
            ]
        )
    )
    messages = await run(url, model, f"Please call {tool}.")
    print(
        json.dumps(
            [
                {
                    "type": m.type,
                    "name": getattr(m, "name", None),
                    "content": as_text(m.content),
                    "tool_calls": [c["name"] for c in getattr(m, "tool_calls", []) or []],
                }
                for m in messages
            ]
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), TIMEOUT_S))
