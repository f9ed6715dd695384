"""The client runtime under the generated `AgentOsClient`: one WebSocket connection to the
embedded host with CBOR frames (`docs/protocol.md`). Calls are matched to answers by id, events
go to the handlers of their name, a call's own events (its callback options) by its call id,
and bridge requests to the one handler registered for them, whose answer goes back through the
bridge's respond action. The host's contract is checked on connect, as the TypeScript client
checks it."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypedDict
from urllib.parse import quote

import cbor2
import websockets


class ActorError(Exception):
    """An error the host answered a call with (or `host/…` for the connection): callers branch
    on the stable `group` and `code`, not on the message."""

    def __init__(self, group: str, code: str, message: str, metadata: object = None) -> None:
        super().__init__(f"{group}/{code}: {message}")
        self.group = group
        self.code = code
        self.message = message
        self.metadata = metadata


class BridgeSpec(TypedDict):
    event: str
    respond_action: str


class Contract(TypedDict):
    actor: str
    version: str
    hash: str
    bridges: dict[str, BridgeSpec]


Handler = Callable[[Any], None]
BridgeHandler = Callable[[Any], object]

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def contract_mismatch(contract: Contract, version: str, contract_hash: str) -> str | None:
    """Why this client cannot work with a host serving `version` (`contract_hash`), or None:
    the host needs the same major version (under 1.0, the same minor) and at least this
    client's minor, as the TypeScript client requires."""
    if contract_hash == contract["hash"]:
        return None
    host = f"the host serves {contract['actor']} contract {version}"
    client = f"this client was generated for {contract['version']}"
    theirs, ours = _SEMVER.match(version), _SEMVER.match(contract["version"])
    if theirs is None or ours is None:
        return f"{host}, but {client}"
    (h_major, h_minor, h_patch), (c_major, c_minor, c_patch) = (
        tuple(int(p) for p in m.groups()) for m in (theirs, ours)
    )
    if h_major != c_major or (c_major == 0 and h_minor != c_minor):
        return f"{host}, but {client}: a different major version"
    if (h_minor, h_patch) < (c_minor, c_patch):
        return f"{host}, but {client}: an older host, which may lack what the client calls"
    return None


class Connection:
    """One connection to one actor instance (`actor`/`key`) of an embedded host."""

    def __init__(self, socket: Any, contract: Contract) -> None:
        self._socket = socket
        self._contract = contract
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._listeners: dict[str, list[Handler]] = {}
        self._handled: set[str] = set()
        self._next_id = 0
        self._init: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._closed: ActorError | None = None
        self._reader = asyncio.create_task(self._read())
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, url: str, token: str, actor: str, key: str, contract: Contract) -> Connection:
        """Connects to `url` (the host's `ws://…` address) with the bearer `token`, reads
        `Init` and checks the contract; fails with `ActorError` `host/contract_mismatch`."""
        endpoint = f"{url.rstrip('/')}/actors/{quote(actor, safe='')}/{quote(key, safe='')}/connect?encoding=cbor"
        try:
            socket = await websockets.connect(
                endpoint,
                additional_headers={"Authorization": f"Bearer {token}"},
                max_size=None,
            )
        except (OSError, websockets.InvalidHandshake) as error:
            raise ActorError("host", "unreachable", f"{endpoint}: {error}") from error
        connection = cls(socket, contract)
        init = await connection._init
        mismatch = contract_mismatch(contract, str(init.get("contractVersion")), str(init.get("contractHash")))
        if mismatch is not None:
            await connection.close()
            raise ActorError("host", "contract_mismatch", f"{mismatch}; regenerate the client with cargo xtask codegen")
        connection.info = init
        return connection

    info: dict[str, Any]

    async def call(self, name: str, args: Sequence[object], callbacks: Mapping[str, Handler | None] | None = None) -> Any:
        """Calls action `name` with positional `args` (trailing `None`s dropped) and returns
        its result; `callbacks` maps an event of this call to the handler of its data.
        Cancelling the awaiting task cancels the call on the host too (a process it runs is
        killed, a prompt's turn cancelled), as an aborted signal does in TypeScript."""
        if self._closed is not None:
            raise self._closed
        sent = list(args)
        while sent and sent[-1] is None:
            sent.pop()
        call = self._next_id
        self._next_id += 1
        call_id = f"{self.info['connectionId']}:{call}"
        stops = [
            self.on(event, _for_call(call_id, handler))
            for event, handler in (callbacks or {}).items()
            if handler is not None
        ]
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call] = answer
        try:
            await self._send("ActionRequest", {"id": call, "name": name, "args": sent})
            return await answer
        except asyncio.CancelledError:
            if self._closed is None:
                self._spawn(self._send("CancelRequest", {"id": call}))
            raise
        finally:
            self._pending.pop(call, None)
            for stop in stops:
                stop()

    def on(self, event: str, handler: Handler) -> Callable[[], None]:
        """Calls `handler` with the payload of every `event`; returns what stops it."""
        handlers = self._listeners.setdefault(event, [])
        handlers.append(handler)
        if len(handlers) == 1:
            self._spawn(self._send("SubscriptionRequest", {"eventName": event, "subscribe": True}))

        def stop() -> None:
            if handler in handlers:
                handlers.remove(handler)
                if not handlers:
                    del self._listeners[event]
                    if self._closed is None:
                        self._spawn(self._send("SubscriptionRequest", {"eventName": event, "subscribe": False}))

        return stop

    def handle(self, bridge: str, handler: BridgeHandler) -> Callable[[], None]:
        """Answers every request of `bridge` with what `handler` returns (or awaits); a handler
        that raises answers with the error's message."""
        spec = self._contract["bridges"].get(bridge)
        if spec is None:
            raise ValueError(f"{self._contract['actor']} has no bridge `{bridge}`")
        if bridge in self._handled:
            raise ValueError(f"bridge `{bridge}` already has a handler")
        self._handled.add(bridge)

        def answer(payload: Any) -> None:
            self._spawn(self._answer(spec, handler, payload))

        stop = self.on(spec["event"], answer)

        def unhandle() -> None:
            stop()
            self._handled.discard(bridge)

        return unhandle

    async def close(self) -> None:
        self._shutdown(ActorError("host", "disconnected", "the client was closed"))
        await self._socket.close()
        self._reader.cancel()

    async def _answer(self, spec: BridgeSpec, handler: BridgeHandler, payload: Any) -> None:
        reply: dict[str, object]
        try:
            output = handler(payload["data"])
            if inspect.isawaitable(output):
                output = await output
            reply = {"ok": output}
        except Exception as error:  # the handler's failure is the bridge's answer
            reply = {"err": str(error)}
        try:
            await self.call(spec["respond_action"], [payload["requestId"], reply])
        except ActorError:
            pass  # answered by another client first, or the request ended

    async def _send(self, tag: str, val: object) -> None:
        await self._socket.send(cbor2.dumps({"body": {"tag": tag, "val": val}}))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self) -> None:
        try:
            async for message in self._socket:
                body = cbor2.loads(message)["body"]
                self._dispatch(body["tag"], body["val"])
            self._shutdown(ActorError("host", "disconnected", "the host closed the connection"))
        except websockets.ConnectionClosed as closed:
            self._shutdown(ActorError("host", "disconnected", f"connection closed ({closed})"))

    def _dispatch(self, tag: str, val: dict[str, Any]) -> None:
        if tag == "Init":
            if not self._init.done():
                self._init.set_result(val)
        elif tag == "ActionResponse":
            answer = self._pending.get(val["id"])
            if answer is not None and not answer.done():
                answer.set_result(val.get("output"))
        elif tag == "Error":
            error = ActorError(val["group"], val["code"], val["message"], val.get("metadata"))
            action_id = val.get("actionId")
            answer = self._pending.get(action_id) if isinstance(action_id, int) else None
            if answer is not None and not answer.done():
                answer.set_exception(error)
        elif tag == "Event":
            for handler in list(self._listeners.get(val["name"], [])):
                handler(val["args"][0])

    def _shutdown(self, error: ActorError) -> None:
        if self._closed is not None:
            return
        self._closed = error
        if not self._init.done():
            self._init.set_exception(error)
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(error)


def _for_call(call_id: str, handler: Handler) -> Handler:
    """Only the events of call `call_id`, unwrapped to their data."""

    def filtered(payload: Any) -> None:
        if isinstance(payload, dict) and payload.get("callId") == call_id:
            handler(payload["data"])

    return filtered
