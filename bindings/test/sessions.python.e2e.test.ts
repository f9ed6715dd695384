/**
 * The client side against an ACP agent nobody here wrote: `tests/agents/python_echo_agent.py`
 * on the Python SDK (PyPI `agent-client-protocol`, in the `.venv` that `scripts/setup.sh`
 * creates). The host runs it with `--sandbox none`: a virtual environment refers to its base
 * interpreter by absolute host path, which the sandbox only has when that is under `/usr`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { createAgentOsClient, type AgentOsClient } from "../src/index.js";
import { describeOnEachHost, REPO } from "./host.js";

const AGENT = `python=${join(REPO, ".venv/bin/python")} ${join(REPO, "tests/agents/python_echo_agent.py")}`;

describeOnEachHost("sessions with the Python SDK agent", { args: ["--sandbox", "none", "--agent", AGENT] }, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("python"));
  });
  after(() => {
    vm?.close();
  });

  test("create, prompt, cancel and config options", async () => {
    assert.equal((await vm.listAgents()).find((agent) => agent.id === "python")?.installed, true);
    const session = await vm.createSession("python", { skipOsInstructions: true });
    assert.deepEqual(await vm.getSessionAgentInfo(session.sessionId), { name: "python-echo-agent", version: "1.0.0" });
    assert.deepEqual(await vm.prompt(session.sessionId, "hello"), { stopReason: "end_turn", text: "python echo: hello" });

    const chunks: string[] = [];
    const stop = vm.on("sessionEvent", (e) => e.sessionId === session.sessionId && chunks.push(JSON.stringify(e.update)));
    const turn = vm.prompt(session.sessionId, "block");
    while (chunks.length === 0) await new Promise((r) => setTimeout(r, 10));
    await vm.cancelSession(session.sessionId);
    assert.deepEqual(await turn, { stopReason: "cancelled", text: "python echo: block" });
    stop();

    const model = async () =>
      ((await vm.getSessionConfigOptions(session.sessionId)) as Array<{ category: string; currentValue: string }>).find(
        (o) => o.category === "model",
      )!.currentValue;
    assert.equal(await model(), "small");
    await vm.setSessionModel(session.sessionId, "large");
    assert.equal(await model(), "large");
    await vm.closeSession(session.sessionId);
    assert.deepEqual(await vm.listSessions(), []);
  });
});
