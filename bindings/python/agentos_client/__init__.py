"""The Python client of the agentOS actor: `AgentOsClient` (generated from the contract by
`cargo xtask codegen`, one `async def` per action, typed) over the embedded host's WebSocket
protocol with CBOR."""

from ._runtime import ActorError
from .generated import *  # noqa: F403  (the generated types, by name)
from .generated import AgentOsClient

__all__ = ["ActorError", "AgentOsClient"]
