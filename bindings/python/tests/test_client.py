"""The generated Python client end to end against a real embedded host: files, `exec` with
`on_stdout`, a shell's events, a session with the built-in agent, the `toolCall` bridge
answered from Python, typed errors, and the contract check."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Awaitable, Callable

import pytest

from agentos_client import ActorError, AgentOsClient, ShellData, ToolCallRequest, ToolCallResult
from agentos_client.generated import CONTRACT
from agentos_client._runtime import Connection, Contract

from conftest import Host


def run(host: Host, key: str, body: Callable[[AgentOsClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with await AgentOsClient.connect(host.url, host.token, key) as client:
            await body(client)

    asyncio.run(main())


async def until(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_files_and_typed_errors(host: Host) -> None:
    async def body(vm: AgentOsClient) -> None:
        await vm.mkdir("/py/dir", {"recursive": True})
        await vm.write_file("/py/dir/a.txt", "text from Python")
        await vm.write_file("/py/dir/b.bin", bytes([0, 1, 255]))
        assert await vm.read_file("/py/dir/b.bin") == bytes([0, 1, 255])
        assert await vm.read_text_file("/py/dir/a.txt") == "text from Python"
        stat = await vm.stat("/py/dir/a.txt")
        assert stat["kind"] == "file" and stat["size"] == 16
        assert sorted(await vm.readdir("/py/dir")) == ["a.txt", "b.bin"]
        assert await vm.exists("/py/nothing") is False
        with pytest.raises(ActorError) as missing:
            await vm.read_file("/py/nothing")
        assert (missing.value.group, missing.value.code) == ("agentos", "not_found")
        with pytest.raises(ActorError) as wrong:
            await vm.stat(42)  # type: ignore[arg-type]
        assert wrong.value.code == "invalid_input"

    run(host, "files", body)


def test_exec_streams_stdout_to_its_callback(host: Host) -> None:
    async def body(vm: AgentOsClient) -> None:
        chunks: list[bytes] = []
        result = await vm.exec("for i in 1 2 3; do echo line $i; done", on_stdout=chunks.append)
        assert result["exitCode"] == 0
        assert b"".join(chunks) == b"line 1\nline 2\nline 3\n"
        assert result["stdout"] == "line 1\nline 2\nline 3\n"
        argv = await vm.exec_argv(["printf", "%s", "no 'shell' here"])
        assert argv["stdout"] == "no 'shell' here"

    run(host, "exec", body)


def test_a_cancelled_call_stops_on_the_host(host: Host) -> None:
    def running(marker: str) -> bool:
        return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0

    async def body(vm: AgentOsClient) -> None:
        marker = f"sleep 100.{os.getpid()}"
        call = asyncio.create_task(vm.exec(marker))
        await until(lambda: running(marker), "the sleep to start")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await until(lambda: not running(marker), "the sleep to be killed", 5)
        assert (await vm.exec("echo still here"))["stdout"] == "still here\n"

    run(host, "cancel", body)


def test_a_shell_streams_its_output_as_events(host: Host) -> None:
    async def body(vm: AgentOsClient) -> None:
        shell = await vm.open_shell()
        seen: list[ShellData] = []
        stop = vm.on("shellData", seen.append)
        try:
            await vm.write_shell(shell["shellId"], "echo from-python-$((6*7))\n")

            def printed() -> bool:
                output = b"".join(d["data"] for d in seen if d["shellId"] == shell["shellId"])
                return b"from-python-42" in output

            await until(printed, "the shell's output")
        finally:
            stop()
            await vm.close_shell(shell["shellId"])

    run(host, "shell", body)


def test_a_session_with_the_built_in_agent(host: Host) -> None:
    async def body(vm: AgentOsClient) -> None:
        agents = {a["id"]: a for a in await vm.list_agents()}
        assert agents["builtin"]["installed"] is True
        session = await vm.create_session("builtin", {"skipOsInstructions": True})
        reply = await vm.prompt(session["sessionId"], "hello from Python")
        assert reply == {"stopReason": "end_turn", "text": "echo: hello from Python"}
        await vm.close_session(session["sessionId"])

    run(host, "session", body)


def test_the_tool_call_bridge_is_answered_from_python(host: Host) -> None:
    async def body(vm: AgentOsClient) -> None:
        await vm.register_toolkit(
            {
                "name": "weather",
                "description": "Forecasts",
                "tools": {
                    "forecast": {
                        "description": "The forecast for a city",
                        "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
                    }
                },
            }
        )
        calls: list[ToolCallRequest] = []

        async def forecast(call: ToolCallRequest) -> ToolCallResult:
            calls.append(call)
            city = call["input"]["city"] if isinstance(call["input"], dict) else "?"
            return {"text": f"sunny in {city}"}

        stop = vm.handle("toolCall", forecast)
        try:
            session = await vm.create_session("builtin", {"skipOsInstructions": True})
            reply = await vm.prompt(session["sessionId"], "tool weather__forecast " + json.dumps({"city": "Oslo"}))
            assert reply["text"].endswith("tool result: sunny in Oslo"), reply
            assert calls == [{"toolkit": "weather", "tool": "forecast", "input": {"city": "Oslo"}}]
            await vm.close_session(session["sessionId"])
        finally:
            stop()
            await vm.unregister_toolkit("weather")

    run(host, "bridge", body)


def test_a_host_of_another_major_version_is_refused(host: Host) -> None:
    async def main() -> None:
        major = int(CONTRACT["version"].split(".")[0])
        other: Contract = {**CONTRACT, "version": f"{major + 1}.0.0", "hash": "0" * 64}
        with pytest.raises(ActorError) as refused:
            await Connection.open(host.url, host.token, "agentOS", "versions", other)
        assert refused.value.code == "contract_mismatch"
        assert "different major version" in refused.value.message
        with pytest.raises(ActorError) as unauthorized:
            await AgentOsClient.connect(host.url, "wrong token", "versions")
        assert unauthorized.value.code == "unreachable"

    asyncio.run(main())
