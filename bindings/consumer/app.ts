// A consumer of the published package, imported by name as an app would. `tsc --strict -p
// consumer` must accept every typed call and reject every line marked @ts-expect-error.
import {
  ActorError,
  createAgentOsClient,
  downloadSnapshot,
  uploadSnapshot,
  webSocketTransport,
  type AgentInfo,
  type JsonValue,
  type CronEvent,
  type CronJobInfo,
  type ScheduledEvent,
  type AgentOsClient,
  type PermissionRequest,
  type PersistedSession,
  type PromptResult,
  type SessionEvent,
  type SessionInfo,
  type ToolCallRequest,
  type ToolCallResult,
  type ToolkitSpec,
  type ExecResult,
  type FileStat,
  type MountInfo,
  type ProcessExit,
  type ProcessInfo,
  type ProcessNode,
  type SandboxInfo,
  type ShellEnd,
  type ShellExit,
  type ShellInfo,
  type SnapshotChunk,
  connectTerminal,
  nodeTerminal,
} from "@agentos/client";

export async function app(url: string, token: string): Promise<void> {
  const client: AgentOsClient = createAgentOsClient(webSocketTransport({ url, token, encoding: "json" }), {
    onError: (e: ActorError) => console.error(e.code),
  });
  const mount: MountInfo = await client.mountFs("/mnt/scratch", { type: "memory" }, { readOnly: false });
  const readOnly: boolean = mount.readOnly;
  await client.mountFs("/mnt/host", { type: "hostDir", path: "/srv/data" });
  await client.writeFile("/mnt/scratch/a.txt", "text");
  await client.writeFile("/mnt/scratch/b.bin", new Uint8Array([1, 2, 3]));
  const bytes: Uint8Array = await client.readFile("/mnt/scratch/b.bin");
  const text: string = await client.readTextFile("/mnt/scratch/a.txt");
  const stat: FileStat = await client.stat("/mnt/scratch/a.txt");
  const size: number = stat.size;
  const kind: "file" | "directory" | "symlink" = stat.kind;
  const mounts: Array<MountInfo> = await client.listMounts();
  await client.mkdir("/a/b", { recursive: true });
  await client.delete("/a", { recursive: true });
  // rivetkit's agentOS actor's names for the same actions: accepted, and marked deprecated
  // (test/deprecated.test.ts checks that the editor says so).
  await client.deleteFile("/a", { recursive: true });
  const modes: JsonValue = await client.getModes("session");
  const configOptions: JsonValue = await client.getConfigOptions("session");
  void [modes, configOptions];
  // @ts-expect-error an alias takes its action's arguments
  await client.deleteFile(42);
  await client.move("/mnt/scratch/a.txt", "/a.txt");
  // Every call takes an AbortSignal: in its trailing options, or a trailing `call` argument.
  const controller = new AbortController();
  await client.exec("sleep 1", { timeout: 5_000, signal: controller.signal });
  await client.stat("/a.txt", { signal: controller.signal });
  const mountsNow: Array<MountInfo> = await client.listMounts({ signal: AbortSignal.timeout(1_000) });
  void mountsNow;
  // @ts-expect-error a signal is an AbortSignal
  await client.stat("/a.txt", { signal: true });
  // @ts-expect-error call options come after the arguments, not in their place
  await client.writeFile("/a.txt", { signal: controller.signal });
  const info = await client.snapshotRootFilesystem({
    includeMounts: true,
    onSnapshotChunk: (chunk: SnapshotChunk) => void chunk.data.byteLength,
  });
  const chunks: number = info.chunks;
  const archive: Uint8Array = await downloadSnapshot(client, { includeMounts: false });
  await uploadSnapshot(client, archive);
  await client.restoreRootFilesystem({ bytes: archive });
  const off = client.on("snapshotChunk", (event) => {
    const callId: string = event.callId;
    const data: Uint8Array = event.data.data;
    void [callId, data];
  });
  off();
  const run: ExecResult = await client.exec("make", {
    cwd: "/work",
    env: { CI: "1" },
    stdin: "input",
    timeout: 60_000,
    onStdout: (data: Uint8Array) => void data.byteLength,
  });
  const code: number | null = run.exitCode;
  await client.execArgv(["printf", "%s", "a b"], { maxOutputBytes: 1024, onStderr: (data) => void data });
  const sandbox: SandboxInfo = await client.sandboxInfo();
  const mode: "bubblewrap" | "none" = sandbox.mode;
  const shell: ShellInfo = await client.openShell({ command: "/bin/bash", args: ["-l"], cwd: "/work", cols: 120, rows: 40 });
  const stopData = client.on("shellData", ({ shellId, data }) => void [shellId === shell.shellId, data.byteLength]);
  await client.writeShell(shell.shellId, "ls\r");
  await client.writeShell(shell.shellId, new Uint8Array([3]));
  await client.resizeShell(shell.shellId, 100, 30);
  const shells: Array<ShellInfo> = await client.listShells();
  const exit: ShellExit = await client.waitShell(shell.shellId);
  const exitCode: number | null = exit.exitCode;
  await client.closeShell(shell.shellId);
  stopData();
  const end: ShellEnd = await connectTerminal(client, nodeTerminal(), { cwd: "/work", env: { LANG: "C.UTF-8" } });
  const proc: ProcessInfo = await client.spawn("cat", [], { streamStdin: true, cwd: "/work", timeout: 5_000 });
  const stopOutput = client.on("processOutput", ({ pid, stream, data }) => void [pid === proc.pid, stream === "stderr", data.byteLength]);
  await client.writeProcessStdin(proc.pid, "line\n");
  await client.closeProcessStdin(proc.pid);
  const procExit: ProcessExit = await client.waitProcess(proc.pid);
  const timedOut: boolean = procExit.timedOut;
  await client.killProcess(proc.pid, "SIGTERM");
  await client.killProcess(proc.pid);
  const tree: Array<ProcessNode> = await client.processTree();
  const hostPids: number[] = (await client.allProcesses()).map((p) => p.hostPid);
  const terminal: ProcessInfo = await client.spawn("vi", ["notes.txt"], { pty: { cols: 100, rows: 30 } });
  await client.resizeProcess(terminal.pid, 120, 40);
  stopOutput();
  void [readOnly, bytes, text, size, kind, mounts, chunks, code, mode, shells, exitCode, end, timedOut, tree, hostPids];

  const agents: Array<AgentInfo> = await client.listAgents();
  const session: SessionInfo = await client.createSession("claude", {
    cwd: "/work",
    mcpServers: [{ type: "http", name: "search", url: "https://mcp.example", headers: [] }],
    skipOsInstructions: true,
  });
  const stopAsks = client.on("permissionRequest", (ask: PermissionRequest) =>
    client.respondPermission(ask.sessionId, ask.permissionId, "once"),
  );
  const turn: PromptResult = await client.prompt(session.sessionId, [{ type: "text", text: "hi" }]);
  const history: Array<SessionEvent> = await client.getSessionEvents(session.sessionId, { after: 0, limit: 10 });
  const records: Array<PersistedSession> = await client.listPersistedSessions();
  await client.closeSession(session.sessionId);
  stopAsks();
  void [agents, turn.stopReason, history, records];
  await client.registerToolkit({
    name: "weather",
    description: "Forecasts",
    tools: {
      forecast: {
        description: "The forecast for a city",
        inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        timeoutMs: 5_000,
        examples: [{ city: "Oslo" }],
      },
    },
  });
  const toolkits: Array<ToolkitSpec> = await client.listToolkits();
  await client.unregisterToolkit("weather");
  const stopTools = client.handle("toolCall", async (call: ToolCallRequest): Promise<ToolCallResult> => ({
    text: `sunny in ${String((call.input as { city?: string }).city)} (${call.toolkit}/${call.tool})`,
    data: { celsius: 21 },
  }));
  stopTools();
  void toolkits;
  // @ts-expect-error a tool handler returns { text, data? }, not a bare string
  client.handle("toolCall", async () => "sunny");
  // @ts-expect-error every tool needs an inputSchema
  await client.registerToolkit({ name: "w", description: "d", tools: { f: { description: "f" } } });
  // @ts-expect-error tools are a record by name, not an array
  await client.registerToolkit({ name: "w", description: "d", tools: [] });
  // @ts-expect-error unknown bridge
  client.handle("toolCalls", async () => ({ text: "" }));

  // @ts-expect-error a permission reply is once, always or reject
  await client.respondPermission(session.sessionId, "p1", "yes");
  // @ts-expect-error a prompt is text or content blocks, not a number
  await client.prompt(session.sessionId, 42);

  const { id: nightly } = await client.scheduleCron({
    schedule: "0 3 * * *",
    timezone: "Europe/Paris",
    overlap: "skip",
    action: { type: "session", agentType: "claude", prompt: "tidy up", options: { cwd: "/work" } },
  });
  await client.scheduleCron({ schedule: new Date(Date.now() + 1000).toISOString(), action: { type: "event", name: "ping" } });
  const stopTicks = client.on("scheduledEvent", (event: ScheduledEvent) => void event.payload);
  const stopRuns = client.on("cronEvent", (event: CronEvent) => void [event.kind, event.run, event.result]);
  const jobs: Array<CronJobInfo> = await client.listCronJobs();
  const nextRun: string | null = jobs[0]!.nextRun;
  await client.cancelCronJob(nightly);
  stopTicks();
  stopRuns();
  void nextRun;
  // @ts-expect-error a cron action is exec, session or event; a callback cannot be scheduled
  await client.scheduleCron({ schedule: "* * * * *", action: { type: "callback", fn: () => {} } });
  // @ts-expect-error the overlap policy is allow, skip or queue
  await client.scheduleCron({ schedule: "* * * * *", overlap: "never", action: { type: "event", name: "x" } });
  // @ts-expect-error an exec job's arguments are strings
  await client.scheduleCron({ schedule: "* * * * *", action: { type: "exec", command: "ls", args: [1] } });

  // @ts-expect-error wrong argument type: a path is a string
  await client.readFile(42);
  // @ts-expect-error unknown mount driver
  await client.mountFs("/m", { type: "nfs" });
  // @ts-expect-error hostDir needs its path
  await client.mountFs("/m", { type: "hostDir" });
  // @ts-expect-error missing argument
  await client.writeFile("/f");
  // @ts-expect-error extra argument
  await client.stat("/f", true);
  // @ts-expect-error unknown action
  await client.formatDisk();
  // @ts-expect-error unknown event
  client.on("diskFormatted", () => {});
  // @ts-expect-error the callback receives a SnapshotChunk, not a string
  await client.snapshotRootFilesystem({ onSnapshotChunk: (chunk: string) => void chunk });
  // @ts-expect-error argv is an array of strings, not one command line
  await client.execArgv("printf %s");
  // @ts-expect-error output callbacks receive bytes
  await client.exec("true", { onStdout: (data: string) => void data });
  // @ts-expect-error the timeout is in milliseconds, a number
  await client.exec("true", { timeout: "1s" });
  // @ts-expect-error a shell's size is two numbers, columns then rows
  await client.resizeShell(shell.shellId, { cols: 80, rows: 24 });
  // @ts-expect-error shell output is bytes
  client.on("shellData", (event: { shellId: string; data: string }) => void event);
  // @ts-expect-error connectTerminal takes the size from the terminal
  await connectTerminal(client, nodeTerminal(), { cols: 80 });
  // @ts-expect-error spawn takes the program and its arguments apart
  await client.spawn("ls -la");
  // @ts-expect-error a VM pid is a number
  await client.waitProcess("1");
  // @ts-expect-error the stream is stdout or stderr
  client.on("processOutput", (event: { pid: number; stream: "both"; data: Uint8Array }) => void event);
  // @ts-expect-error results are typed: readFile gives bytes, not text
  const wrong: string = await client.readFile("/f");
  void wrong;
}
