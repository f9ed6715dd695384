/**
 * Host toolkits through a real host and the generated client: registration and its checks,
 * and the Rust test agent (in the VM's sandbox) calling a tool over MCP that runs in this
 * process's `client.handle("toolCall", …)` handler, or times out when nobody handles it;
 * over both hosts.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  createAgentOsClient,
  type AgentOsClient,
  type ToolCallRequest,
  type ToolkitSpec,
} from "../src/index.js";
import { isError } from "./expect.js";
import { describeOnEachHost, TEST_AGENT } from "./host.js";

const weather: ToolkitSpec = {
  name: "weather",
  description: "Forecasts",
  tools: {
    forecast: {
      description: "The forecast for a city",
      inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      timeoutMs: 300,
      examples: [{ city: "Oslo" }],
    },
  },
};

describeOnEachHost("toolkits", { args: ["--agent", `test=${TEST_AGENT}`] }, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("toolkits"));
  });
  after(() => {
    vm?.close();
  });

  test("registerToolkit, listToolkits and unregisterToolkit; a bad schema or name is invalid_input", async () => {
    await vm.registerToolkit(weather);
    assert.deepEqual(await vm.listToolkits(), [weather]);
    await assert.rejects(
      vm.registerToolkit({
        name: "broken",
        description: "d",
        tools: { t: { description: "t", inputSchema: { type: "no-such-type" } } },
      }),
      isError("invalid_input"),
    );
    await assert.rejects(
      vm.registerToolkit({ ...weather, name: "two__parts" }),
      isError("invalid_input"),
    );
    assert.deepEqual(await vm.listToolkits(), [weather]);
    await vm.unregisterToolkit("weather");
    assert.deepEqual(await vm.listToolkits(), []);
    await assert.rejects(vm.unregisterToolkit("weather"), isError("not_found"));
  });

  test("an agent's tool call runs once in the client's toolCall handler and its result reaches the reply", async () => {
    await vm.registerToolkit(weather);
    const calls: ToolCallRequest[] = [];
    const stop = vm.handle("toolCall", async (call) => {
      calls.push(call);
      return { text: `sunny in ${(call.input as { city: string }).city}` };
    });
    try {
      const session = await vm.createSession("test", { skipOsInstructions: true });
      const reply = await vm.prompt(session.sessionId, 'tool weather__forecast {"city": "Oslo"}');
      assert.match(reply.text, /tool result: sunny in Oslo$/);
      assert.deepEqual(calls, [{ toolkit: "weather", tool: "forecast", input: { city: "Oslo" } }]);

      // Input that fails the schema never reaches the handler.
      const invalid = await vm.prompt(session.sessionId, 'tool weather__forecast {"city": 7}');
      assert.match(invalid.text, /tool error: invalid_input: .*weather__forecast/);
      assert.equal(calls.length, 1);
      await vm.closeSession(session.sessionId);
    } finally {
      stop();
      await vm.unregisterToolkit("weather");
    }
  });

  test("with no handler, the agent reads a typed timeout error after the tool's timeoutMs", async () => {
    await vm.registerToolkit(weather);
    try {
      const session = await vm.createSession("test", { skipOsInstructions: true });
      const started = Date.now();
      const reply = await vm.prompt(session.sessionId, 'tool weather__forecast {"city": "Oslo"}');
      assert.match(reply.text, /tool error: timeout: no client answered bridge `toolCall` within 300ms/);
      assert.ok(Date.now() - started >= 300, "the call waited for the tool's timeout");
      await vm.closeSession(session.sessionId);
    } finally {
      await vm.unregisterToolkit("weather");
    }
  });
});
