"""An ACP agent built on the Python SDK (PyPI `agent-client-protocol`), so that the host's
client side is proven against an implementation nobody here wrote. It echoes each prompt as
`python echo: <text>`, waits for `session/cancel` when the prompt contains `block`, and offers a
`model` config option (`small` / `large`)."""

import asyncio
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    InitializeResponse,
    NewSessionResponse,
    PromptResponse,
    SetSessionConfigOptionResponse,
    run_agent,
    update_agent_message_text,
)
from acp.schema import (
    AgentCapabilities,
    Implementation,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
)


def model_option(current: str) -> SessionConfigOptionSelect:
    return SessionConfigOptionSelect(
        id="model",
        name="Model",
        category="model",
        type="select",
        current_value=current,
        options=[SessionConfigSelectOption(value=v, name=v) for v in ("small", "large")],
    )


class EchoAgent:
    def __init__(self) -> None:
        self.conn: Any = None
        self.cancelled: dict[str, asyncio.Event] = {}
        self.models: dict[str, str] = {}

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(),
            agent_info=Implementation(name="python-echo-agent", version="1.0.0"),
        )

    async def new_session(self, cwd: str, **kwargs: Any) -> NewSessionResponse:
        session_id = f"py-{len(self.cancelled) + 1}"
        self.cancelled[session_id] = asyncio.Event()
        self.models[session_id] = "small"
        return NewSessionResponse(session_id=session_id, config_options=[model_option("small")])

    async def set_config_option(self, config_id: str, session_id: str, value: Any, **kwargs: Any):
        self.models[session_id] = str(value)
        return SetSessionConfigOptionResponse(config_options=[model_option(self.models[session_id])])

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        text = "\n".join(block.text for block in prompt if getattr(block, "type", None) == "text")
        await self.conn.session_update(session_id, update_agent_message_text(f"python echo: {text}"))
        if "block" in text:
            self.cancelled[session_id].clear()
            await self.cancelled[session_id].wait()
            return PromptResponse(stop_reason="cancelled")
        return PromptResponse(stop_reason="end_turn")

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        self.cancelled[session_id].set()


if __name__ == "__main__":
    asyncio.run(run_agent(EchoAgent()))
