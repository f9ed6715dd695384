/**
 * Agent sessions over ACP through a real host and the generated client, against the Rust
 * built-in agent (`core/agent/`, started in the VM's sandbox): every session action, MCP servers
 * arriving as given, permissions, cancel, stderr, agent → client file requests, an agent that
 * dies mid-prompt beside one that completes, and 100 sessions that leave no processes or fds;
 * over both hosts. Session events surviving a host restart is checked on the embedded host
 * only: on a Rivet Engine the actor moves to whichever runner the engine picks, so "the same
 * host again" is the engine's business (its actors' sleep and wake is tested in Rust).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  ActorError,
  createAgentOsClient,
  webSocketTransport,
  type AgentOsClient,
  type JsonValue,
  type SessionOptions,
} from "../src/index.js";
import { eventually, isError, record } from "./expect.js";
import { describeOnEachHost, startHost, TEST_AGENT } from "./host.js";

const quiet: SessionOptions = { skipOsInstructions: true };

const texts = (events: Array<{ update: JsonValue }>) =>
  events.map((e) => (e.update as { content: { text: string } }).content.text);

const agents = ["--agent", `test=${TEST_AGENT}`, "--agent", "missing=/nonexistent/agent --flag", "--agent", "notacp=/bin/true"];

describeOnEachHost("sessions", { args: agents }, (host) => {
  let vm: AgentOsClient;
  before(async () => {
    vm = createAgentOsClient(host().transport("sessions"));
    await vm.mkdir("/work", { recursive: true });
  });
  after(() => {
    vm?.close();
  });

  test("listAgents reports the registry and what can start in the sandbox, and why not", async () => {
    const agents = await vm.listAgents();
    assert.deepEqual(
      agents.map((a) => a.id),
      ["builtin", "claude", "codex", "gemini", "missing", "notacp", "opencode", "test"],
    );
    const byId = new Map(agents.map((a) => [a.id, a]));
    assert.deepEqual(byId.get("missing"), {
      id: "missing",
      installed: false,
      reason: "/nonexistent/agent: No such file or directory (os error 2)",
      entrypoint: ["/nonexistent/agent", "--flag"],
    });
    assert.deepEqual(byId.get("notacp"), { id: "notacp", installed: true, entrypoint: ["/bin/true"] });
    assert.deepEqual(byId.get("test"), { id: "test", installed: true, entrypoint: [TEST_AGENT] });
    assert.equal(byId.get("builtin")!.installed, true);
    // A preset whose program the sandbox lacks: not installed, why, and how to install it.
    const claude = byId.get("claude")!;
    assert.equal(claude.installed, false);
    assert.match(claude.reason!, /`claude-agent-acp` is not installed/);
    assert.equal(claude.install, "npm install -g @agentclientprotocol/claude-agent-acp");
    assert.deepEqual(claude.passEnv, ["ANTHROPIC_API_KEY"]);
    await assert.rejects(vm.createSession("claude", quiet), isError("unsupported", /cannot start: `claude-agent-acp` is not installed/));
    await assert.rejects(vm.createSession("nope"), isError("not_found"));
    // The host's own agent needs nothing installed: the README's session example.
    const builtin = await vm.createSession("builtin", { cwd: "/work" });
    assert.match((await vm.prompt(builtin.sessionId, "Fix the failing test")).text, /echo: [^]*Fix the failing test$/);
    await vm.closeSession(builtin.sessionId);
    await assert.rejects(vm.createSession("missing", quiet), isError("unsupported"));
    await assert.rejects(vm.createSession("notacp", quiet), isError("agent_exited"));
    assert.deepEqual(await vm.listSessions(), []);
  });

  test("mcpServers (stdio and HTTP) and cwd reach the agent's session/new exactly as given", async () => {
    const mcpServers: JsonValue[] = [
      { name: "files", command: "/usr/bin/mcp-files", args: ["--root", "/work"], env: [{ name: "TOKEN", value: "s3cret" }] },
      { type: "http", name: "search", url: "https://mcp.example/search", headers: [{ name: "Authorization", value: "Bearer x" }] },
    ];
    const session = await vm.createSession("test", { ...quiet, cwd: "/work", mcpServers });
    assert.equal(session.cwd, "/work");
    assert.equal(session.agentType, "test");
    const { text } = await vm.prompt(session.sessionId, "report");
    const report = JSON.parse(text.slice("echo: report".length));
    assert.deepEqual(report, { cwd: "/work", mcpServers });
    await vm.closeSession(session.sessionId);
    await assert.rejects(vm.createSession("test", { mcpServers: [{ type: "carrier-pigeon" }] }), isError("invalid_input"));
  });

  test("prompt streams sessionEvents and returns the stop reason and text", async () => {
    const events = record(vm, "sessionEvent");
    try {
      const session = await vm.createSession("test", quiet);
      assert.deepEqual(
        (await vm.listSessions()).map((s) => s.sessionId),
        [session.sessionId],
      );
      assert.deepEqual(await vm.prompt(session.sessionId, "hello"), { stopReason: "end_turn", text: "echo: hello" });
      assert.deepEqual(
        await vm.prompt(session.sessionId, [{ type: "text", text: "as" }, { type: "text", text: "content" }]),
        { stopReason: "end_turn", text: "echo: as\ncontent" },
      );
      const mine = events.seen.filter((e) => e.sessionId === session.sessionId);
      assert.deepEqual(
        mine.map((e) => [e.seq, e.update]),
        [
          [1, { sessionUpdate: "agent_message_chunk", content: { type: "text", text: "echo: hello" } }],
          [2, { sessionUpdate: "agent_message_chunk", content: { type: "text", text: "echo: as\ncontent" } }],
        ],
      );
      await vm.closeSession(session.sessionId);
      assert.deepEqual(await vm.listSessions(), []);
      await assert.rejects(vm.prompt(session.sessionId, "hello"), isError("not_found"));
    } finally {
      events.stop();
    }
  });

  test("the VM's instructions and additionalInstructions precede the first prompt only", async () => {
    const session = await vm.createSession("test", { additionalInstructions: "Answer in haiku." });
    const first = await vm.prompt(session.sessionId, "hi");
    assert.match(first.text, /^echo: You are running in an agentOS VM.*\n\nAnswer in haiku\.\nhi$/s);
    assert.equal((await vm.prompt(session.sessionId, "again")).text, "echo: again");
    await vm.closeSession(session.sessionId);
  });

  test("permission requests are answered once, always, reject or by option id, and cancelled when the session ends", async () => {
    const asks = record(vm, "permissionRequest");
    try {
      const session = await vm.createSession("test", quiet);
      const replies = [
        ["once", "allow-once"],
        ["always", "allow-always"],
        ["reject", "reject-once"],
        [{ optionId: "allow-once-read-only" }, "allow-once-read-only"],
      ] as const;
      for (const [reply, option] of replies) {
        const before = asks.seen.length;
        const turn = vm.prompt(session.sessionId, "permission");
        const ask = await eventually(() => asks.seen[before], "a permission request");
        assert.equal(ask.sessionId, session.sessionId);
        assert.deepEqual(
          (ask.request as { options: Array<{ kind: string }> }).options.map((o) => o.kind),
          ["allow_once", "allow_once", "allow_always", "reject_once"],
        );
        // An id the agent did not offer is refused, and the request stays pending.
        await assert.rejects(
          vm.respondPermission(session.sessionId, ask.permissionId, { optionId: "allow-forever" }),
          isError("invalid_input"),
        );
        await vm.respondPermission(session.sessionId, ask.permissionId, reply);
        assert.equal((await turn).text, `echo: permissionpermission: selected ${option}`);
        await assert.rejects(vm.respondPermission(session.sessionId, ask.permissionId, "once"), isError("not_found"));
      }
      const before = asks.seen.length;
      const turn = vm.prompt(session.sessionId, "permission");
      const ask = await eventually(() => asks.seen[before], "a permission request");
      const failed = assert.rejects(turn, isError("agent_exited"));
      await vm.closeSession(session.sessionId);
      await failed;
      await assert.rejects(vm.respondPermission(session.sessionId, ask.permissionId, "once"), isError("not_found"));
    } finally {
      asks.stop();
    }
  });

  test("pending permissions are listed until resolved, and each one's end is an event", async () => {
    const asks = record(vm, "permissionRequest");
    const resolved = record(vm, "permissionResolved");
    try {
      const session = await vm.createSession("test", quiet);
      const ask = async () => {
        const before = asks.seen.length;
        const turn = vm.prompt(session.sessionId, "permission");
        return { turn, ask: await eventually(() => asks.seen[before], "a permission request") };
      };
      const first = await ask();
      assert.deepEqual(await vm.listPendingPermissions(), [first.ask]);
      assert.equal((await vm.getRuntimeHealth()).pendingPermissions, 1);
      await vm.respondPermission(session.sessionId, first.ask.permissionId, "always");
      await first.turn;
      assert.deepEqual(resolved.seen, [
        { sessionId: session.sessionId, permissionId: first.ask.permissionId, outcome: "selected", optionId: "allow-always" },
      ]);
      assert.deepEqual(await vm.listPendingPermissions(), []);

      // Cancelling the turn answers its pending requests `cancelled`, as ACP asks of a client
      // (the test agent reports the outcome it got).
      const second = await ask();
      await vm.cancelSession(session.sessionId);
      assert.match((await second.turn).text, /permission: cancelled$/);
      assert.deepEqual(resolved.seen.at(-1), {
        sessionId: session.sessionId,
        permissionId: second.ask.permissionId,
        outcome: "cancelled",
      });
      assert.deepEqual(await vm.listPendingPermissions(), []);
      await vm.closeSession(session.sessionId);
    } finally {
      asks.stop();
      resolved.stop();
    }
  });

  test("getRuntimeHealth counts what runs and keeps how the last agents ended", async () => {
    const session = await vm.createSession("test", quiet);
    const health = await vm.getRuntimeHealth();
    assert.ok(health.sessions >= 1 && health.uptimeMs >= 0, JSON.stringify(health));
    assert.deepEqual(health.warnings, []);
    await assert.rejects(vm.prompt(session.sessionId, "stderr then crash"), isError("agent_exited"));
    const exit = await eventually(
      async () => (await vm.getRuntimeHealth()).agentExits.find((e) => e.sessionId === session.sessionId),
      "the crashed agent in getRuntimeHealth",
    );
    assert.equal(exit.agentType, "test");
    assert.deepEqual(exit.exit, { exitCode: 3, signal: null });
    assert.deepEqual(exit.stderrTail, ["test-agent stderr: stderr then crash"]);
    assert.ok(exit.atMs > Date.now() - 60_000);
  });

  test("cancelSession ends a blocked turn with stop reason cancelled", async () => {
    const events = record(vm, "sessionEvent");
    try {
      const session = await vm.createSession("test", quiet);
      const turn = vm.prompt(session.sessionId, "block");
      await eventually(() => events.seen.find((e) => e.sessionId === session.sessionId), "the first chunk");
      await assert.rejects(vm.prompt(session.sessionId, "meanwhile"), isError("invalid_input"));
      await vm.cancelSession(session.sessionId);
      assert.deepEqual(await turn, { stopReason: "cancelled", text: "echo: block" });
      await vm.closeSession(session.sessionId);
    } finally {
      events.stop();
    }
  });

  test("agent stderr arrives as agentStderr lines", async () => {
    const lines = record(vm, "agentStderr");
    try {
      const session = await vm.createSession("test", quiet);
      await vm.prompt(session.sessionId, "stderr please");
      const line = await eventually(() => lines.seen.find((l) => l.sessionId === session.sessionId), "a stderr line");
      assert.equal(line.line, "test-agent stderr: stderr please");
      await vm.closeSession(session.sessionId);
    } finally {
      lines.stop();
    }
  });

  test("modes, config options (model, thought level), capabilities and agent info", async () => {
    const session = await vm.createSession("test", quiet);
    const id = session.sessionId;
    assert.deepEqual(await vm.getSessionModes(id), {
      currentModeId: "ask",
      availableModes: [
        { id: "ask", name: "Ask" },
        { id: "code", name: "Code" },
      ],
    });
    await vm.setSessionMode(id, "code");
    assert.equal(((await vm.getSessionModes(id)) as { currentModeId: string }).currentModeId, "code");
    // rivetkit's agentOS names for the same two actions.
    assert.deepEqual(await vm.getModes(id), await vm.getSessionModes(id));
    assert.deepEqual(await vm.getConfigOptions(id), await vm.getSessionConfigOptions(id));

    const current = async () =>
      Object.fromEntries(
        ((await vm.getSessionConfigOptions(id)) as Array<{ id: string; category: string; currentValue: string }>).map(
          (o) => [o.id, [o.category, o.currentValue]],
        ),
      );
    assert.deepEqual(await current(), { model: ["model", "small"], thought_level: ["thought_level", "low"] });
    await vm.setSessionModel(id, "large");
    await vm.setSessionThoughtLevel(id, "high");
    assert.deepEqual(await current(), { model: ["model", "large"], thought_level: ["thought_level", "high"] });
    await vm.setSessionConfigOption(id, "model", "small");
    assert.deepEqual(await current(), { model: ["model", "small"], thought_level: ["thought_level", "high"] });
    await assert.rejects(vm.setSessionConfigOption(id, "colour", "blue"), isError("agent_error"));

    const capabilities = (await vm.getSessionCapabilities(id)) as { mcpCapabilities: { http: boolean } };
    assert.equal(capabilities.mcpCapabilities.http, true);
    assert.deepEqual(await vm.getSessionAgentInfo(id), { name: "agentos-builtin-agent", version: "0.1.0" });
    assert.deepEqual(await vm.getSession(id), {
      sessionId: id,
      agentType: "test",
      cwd: "/",
      live: true,
      capabilities: await vm.getSessionCapabilities(id),
      agentInfo: { name: "agentos-builtin-agent", version: "0.1.0" },
    });
    await vm.closeSession(id);
    // Still on record, without what only a running agent can say.
    assert.deepEqual(await vm.getSession(id), { sessionId: id, agentType: "test", cwd: "/", live: false });
    await assert.rejects(vm.getSession("nope"), isError("not_found"));
  });

  test("rawSessionSend and rawSend return the raw JSON-RPC result or a typed agent_error", async () => {
    const session = await vm.createSession("test", quiet);
    const id = session.sessionId;
    assert.deepEqual(await vm.rawSessionSend(id, "session/set_mode", { modeId: "code" }), {});
    assert.equal(((await vm.getSessionModes(id)) as { currentModeId: string }).currentModeId, "code");
    const result = (await vm.rawSend(id, "session/new", { cwd: "/", mcpServers: [] })) as { sessionId: string };
    assert.match(result.sessionId, /^test-session-/);
    await assert.rejects(vm.rawSend(id, "no/such_method"), (e: unknown) => {
      assert.ok(e instanceof ActorError && e.code === "agent_error");
      assert.equal((e.metadata as { code: number }).code, -32601);
      return true;
    });
    await vm.closeSession(id);
  });

  test("the agent's fs/read_text_file and fs/write_text_file are served by the VM's filesystem", async () => {
    await vm.writeFile("/work/note.txt", "from the VM");
    const session = await vm.createSession("test", quiet);
    assert.equal((await vm.prompt(session.sessionId, "read /work/note.txt")).text, "echo: read /work/note.txtread: from the VM");
    await vm.prompt(session.sessionId, "write /work/out.txt from the agent");
    assert.equal(await vm.readTextFile("/work/out.txt"), "from the agent");
    const missing = await vm.prompt(session.sessionId, "read /work/missing.txt");
    assert.match(missing.text, /read failed/);
    await vm.closeSession(session.sessionId);
  });

  test("the agent's terminal/* requests run commands in the VM's sandbox", async () => {
    await vm.writeFile("/work/hello.txt", "hi from the VM");
    const session = await vm.createSession("test", { ...quiet, cwd: "/work" });
    const ran = await vm.prompt(session.sessionId, "run cat hello.txt; exit 7");
    assert.equal(ran.text, "echo: run cat hello.txt; exit 7ran: 7: hi from the VM");
    const long = await vm.prompt(session.sessionId, "run seq 1 1000");
    assert.match(long.text, /ran: 0 \(truncated\): [\d\n]*\n1000\n$/);
    await vm.closeSession(session.sessionId);
  });

  test("killing one agent mid-prompt fails that prompt with agent_exited while another session completes", async () => {
    const exits = record(vm, "agentExit");
    const events = record(vm, "sessionEvent");
    try {
      const doomed = await vm.createSession("test", quiet);
      const other = await vm.createSession("test", quiet);
      const doomedTurn = vm.prompt(doomed.sessionId, "block");
      const otherTurn = vm.prompt(other.sessionId, "block");
      for (const s of [doomed, other]) {
        await eventually(() => events.seen.find((e) => e.sessionId === s.sessionId), "a chunk");
      }
      process.kill(doomed.pid, "SIGKILL");
      await assert.rejects(doomedTurn, isError("agent_exited"));
      const exit = await eventually(() => exits.seen.find((e) => e.sessionId === doomed.sessionId), "agentExit");
      assert.deepEqual(exit, { sessionId: doomed.sessionId, exitCode: null, signal: 9 });
      assert.deepEqual(
        (await vm.listSessions()).map((s) => s.sessionId),
        [other.sessionId],
      );
      await vm.cancelSession(other.sessionId);
      assert.equal((await otherTurn).stopReason, "cancelled");
      assert.deepEqual(await vm.prompt(other.sessionId, "still here"), { stopReason: "end_turn", text: "echo: still here" });

      const crashing = await vm.createSession("test", quiet);
      await assert.rejects(vm.prompt(crashing.sessionId, "crash"), isError("agent_exited"));
      const crash = await eventually(() => exits.seen.find((e) => e.sessionId === crashing.sessionId), "agentExit");
      assert.deepEqual(crash, { sessionId: crashing.sessionId, exitCode: 3, signal: null });
      await vm.closeSession(other.sessionId);
    } finally {
      exits.stop();
      events.stop();
    }
  });

  test("session events are persisted, paged, listed and destroyed with destroySession", async () => {
    const session = await vm.createSession("test", quiet);
    for (const word of ["one", "two", "three"]) await vm.prompt(session.sessionId, word);
    assert.deepEqual(texts(await vm.getSessionEvents(session.sessionId)), ["echo: one", "echo: two", "echo: three"]);
    const page = await vm.getSessionEvents(session.sessionId, { after: 1, limit: 1 });
    assert.deepEqual([page[0]!.seq, texts(page)], [2, ["echo: two"]]);
    await vm.closeSession(session.sessionId);
    const record = (await vm.listPersistedSessions()).find((s) => s.sessionId === session.sessionId)!;
    assert.equal(record.events, 3);
    assert.equal(record.agentType, "test");
    assert.ok(record.endedAt !== null && record.endedAt >= record.createdAt);
    assert.equal(record.endReason, "closed");
    const gone = await vm.createSession("test", quiet);
    await vm.prompt(gone.sessionId, "forget me");
    await vm.destroySession(gone.sessionId);
    await assert.rejects(vm.getSessionEvents(gone.sessionId), isError("not_found"));
    assert.ok(!(await vm.listPersistedSessions()).some((s) => s.sessionId === gone.sessionId));
    const other = createAgentOsClient(host().transport("another-vm"));
    assert.deepEqual(await other.listPersistedSessions(), []);
    await assert.rejects(other.getSessionEvents(session.sessionId), isError("not_found"));
    other.close();
  });

  test("100 sessions created and closed leave processes and file descriptors at their starting count", async () => {
    const fds = () => readdirSync(`/proc/${host().pid}/fd`).length;
    const children = () =>
      readdirSync("/proc")
        .filter((name) => /^\d+$/.test(name))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1] === String(host().pid);
          } catch {
            return false;
          }
        }).length;
    // One session first, so that lazily opened descriptors (the VM, the runtime) exist.
    await vm.closeSession((await vm.createSession("test", quiet)).sessionId);
    const [fdsBefore, childrenBefore] = [fds(), children()];
    for (let i = 0; i < 100; i++) {
      const session = await vm.createSession("test", quiet);
      if (i % 10 === 0) await vm.prompt(session.sessionId, "hello");
      await vm.closeSession(session.sessionId);
    }
    await eventually(() => (children() === childrenBefore ? true : undefined), "children to be reaped");
    await eventually(() => (fds() <= fdsBefore ? true : undefined), `fds back to ${fdsBefore} (now ${fds()})`);
    assert.deepEqual(await vm.listSessions(), []);
  });
});

describe("session events across an embedded host restart", () => {
  test("they live in the host's SQLite file and survive a restart", async () => {
    let host = await startHost(["--agent", `test=${TEST_AGENT}`]);
    let vm = createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "sessions" }));
    try {
      const session = await vm.createSession("test", quiet);
      for (const word of ["one", "two"]) await vm.prompt(session.sessionId, word);
      await vm.closeSession(session.sessionId);
      vm.close();
      await host.stop({ keepData: true });
      host = await startHost(["--agent", `test=${TEST_AGENT}`], host.dataDir);
      vm = createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "sessions" }));
      assert.deepEqual(await vm.listSessions(), []);
      assert.deepEqual(texts(await vm.getSessionEvents(session.sessionId)), ["echo: one", "echo: two"]);
      assert.equal((await vm.listPersistedSessions()).find((s) => s.sessionId === session.sessionId)!.events, 2);
      for (const actor of readdirSync(join(host.dataDir, "actors"))) {
        assert.ok(!existsSync(join(host.dataDir, "actors", actor, "state.sqlite")));
      }
      assert.ok(existsSync(join(host.dataDir, "host.sqlite")));
    } finally {
      vm.close();
      await host.stop();
    }
  });

  test("resumeSession loads a session again after a restart, or starts anew with an agent that cannot", async () => {
    const agents = ["--agent", `test=${TEST_AGENT}`, "--agent", `noload=${TEST_AGENT} --no-load-session`];
    let host = await startHost(agents);
    let vm = createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "resume" }));
    try {
      const loads = await vm.createSession("test", quiet);
      const cannot = await vm.createSession("noload", quiet);
      const later = await vm.createSession("test", quiet);
      const closed = await vm.createSession("test", quiet);
      const twice = await vm.createSession("test", quiet);
      for (const id of [loads.sessionId, cannot.sessionId, later.sessionId]) await vm.prompt(id, "remember apples");
      await vm.closeSession(closed.sessionId);
      vm.close();
      // Stopped with the sessions live: they end `hostStopped`.
      await host.stop({ keepData: true });
      host = await startHost(agents, host.dataDir);
      vm = createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "resume" }));
      assert.equal((await vm.getSession(loads.sessionId)).live, false);

      const events = record(vm, "sessionEvent");
      assert.deepEqual(await vm.resumeSession(loads.sessionId), { sessionId: loads.sessionId, mode: "native" });
      // The agent replayed the conversation it kept (its history, in the VM's home) as events,
      // numbered on from the session's last.
      await eventually(() => (events.seen.some((e) => e.sessionId === loads.sessionId) ? true : undefined), "the replay");
      const replayed = await vm.getSessionEvents(loads.sessionId);
      assert.deepEqual(texts(replayed), ["echo: remember apples", "history: remember apples"]);
      assert.deepEqual(replayed.map((e) => e.seq), [1, 2]);
      assert.equal((await vm.getSession(loads.sessionId)).live, true);
      assert.equal((await vm.prompt(loads.sessionId, "and pears")).text, "echo: and pears");
      await assert.rejects(vm.resumeSession(loads.sessionId), isError("invalid_input"));

      // A new conversation: the VM's instructions go first again.
      assert.deepEqual(await vm.resumeSession(cannot.sessionId), { sessionId: cannot.sessionId, mode: "fallback" });
      assert.match((await vm.prompt(cannot.sessionId, "hello again")).text, /^echo: You are running in an agentOS VM[^]*hello again$/);
      const after = texts(await vm.getSessionEvents(cannot.sessionId));
      assert.equal(after.length, 2);
      assert.equal(after[0], "echo: remember apples");
      await assert.rejects(vm.resumeSession("nope"), isError("not_found"));
      // Two resumes at once start one agent: the second finds the session live.
      const both = await Promise.allSettled([vm.resumeSession(twice.sessionId), vm.resumeSession(twice.sessionId)]);
      assert.deepEqual(both.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
      // A prompt to a session the restart ended resumes it first; a closed one stays closed.
      assert.equal((await vm.prompt(later.sessionId, "straight on")).text, "echo: straight on");
      assert.deepEqual(texts(await vm.getSessionEvents(later.sessionId)).slice(1), ["history: remember apples", "echo: straight on"]);
      await assert.rejects(vm.prompt(closed.sessionId, "hello"), isError("not_found"));
      events.stop();
    } finally {
      vm.close();
      await host.stop();
    }
  });
});
