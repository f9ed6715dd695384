"""A consumer of the generated Python client, type-checked by `mypy --strict` (never run): the
typed calls must pass, and every line marked `# type: ignore[…]` must be an error of that code
(`warn_unused_ignores` fails a mark that no error needs; `test_types.py` also checks the marks
without their ignores)."""

from __future__ import annotations

from agentos_client import (
    ActorError,
    AgentOsClient,
    ExecResult,
    FileStat,
    MountInfo,
    ProcessOutput,
    ToolCallRequest,
    ToolCallResult,
)


async def typed(url: str, token: str) -> None:
    async with await AgentOsClient.connect(url, token, "consumer") as vm:
        mount: MountInfo = await vm.mount_fs("/mnt/scratch", {"type": "memory"}, {"readOnly": False})
        read_only: bool = mount["readOnly"]
        await vm.write_file("/a.txt", "text")
        await vm.write_file("/b.bin", b"\x00\x01")
        data: bytes = await vm.read_file("/b.bin")
        stat: FileStat = await vm.stat("/a.txt")
        size: float = stat["size"]
        result: ExecResult = await vm.exec("ls", {"cwd": "/"}, on_stdout=lambda chunk: print(chunk.decode()))
        code: float | None = result["exitCode"]
        vm.on("processOutput", lambda event: print(event["pid"], event["data"]))

        def answer(call: ToolCallRequest) -> ToolCallResult:
            return {"text": f"called {call['tool']}"}

        vm.handle("toolCall", answer)
        try:
            await vm.move("/a.txt", "/c.txt")
        except ActorError as error:
            print(error.group, error.code, error.message)
        print(read_only, data, size, code)

        await vm.write_file(42, "text")  # type: ignore[arg-type]
        await vm.mount_fs("/mnt/x", {"type": "floppy"})  # type: ignore[typeddict-item]
        await vm.exec("ls", on_stdout=print, on_exit=print)  # type: ignore[call-arg]
        await vm.stat()  # type: ignore[call-arg]
        wrong: str = await vm.exists("/a.txt")  # type: ignore[assignment]
        await vm.no_such_action()  # type: ignore[attr-defined]
        vm.on("notAnEvent", print)  # type: ignore[call-overload]

        def no_such_field(event: ProcessOutput) -> None:
            print(event["nope"])  # type: ignore[typeddict-item]

        vm.on("processOutput", no_such_field)
        handler: ProcessOutput = stat  # type: ignore[assignment]
        print(wrong, handler)
