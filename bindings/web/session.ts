/**
 * The session panel: pick an agent, start a session, send prompts. Each prompt is a
 * `.turn` of `#answer` whose `.reply` grows with the agent's message chunks as they arrive
 * (`sessionEvent`) and which gets `data-stop-reason` when the turn ends. The agent's
 * permission requests appear in `#permissions`, one button per option it offers
 * (`data-option-id`). One session at a time: starting another closes the previous one.
 */
import type { AgentOsClient, JsonValue } from "@agentos/client";

import { byId, element } from "./dom.js";
import type { Status } from "./status.js";

export function sessionPanel(client: AgentOsClient, status: Status): void {
  const agents = byId("agent", HTMLSelectElement);
  const start = byId("session-start", HTMLButtonElement);
  const label = byId("session-id", HTMLElement);
  const form = byId("prompt-form", HTMLFormElement);
  const input = byId("prompt", HTMLInputElement);
  const send = byId("prompt-send", HTMLButtonElement);
  const answer = byId("answer", HTMLElement);
  const permissions = byId("permissions", HTMLElement);

  let sessionId: string | undefined;
  /** The last turn's reply: chunks that arrive once a turn has ended still belong to it. */
  let reply: HTMLElement | undefined;

  client
    .listAgents()
    .then((list) => {
      agents.replaceChildren(
        ...list.map(({ id, installed }) => {
          const option = element("option", { value: id }, installed ? id : `${id} (not installed)`);
          option.disabled = !installed;
          return option;
        }),
      );
      start.disabled = !list.some((agent) => agent.installed);
    })
    .catch((error: unknown) => status.error("listAgents", error));

  client.on("sessionEvent", ({ sessionId: id, update }) => {
    const text = id === sessionId ? messageChunk(update) : undefined;
    if (text !== undefined) reply?.append(text);
  });

  client.on("permissionRequest", ({ sessionId: id, permissionId, request }) => {
    if (id !== sessionId) return;
    const card = element("div", { class: "permission", "data-permission-id": permissionId }, toolCallTitle(request));
    const buttons = permissionOptions(request).map(({ optionId, name }) => {
      const button = element("button", { type: "button", "data-option-id": optionId }, name);
      button.addEventListener("click", () => void respond(id, permissionId, optionId, card, buttons));
      return button;
    });
    card.append(...buttons);
    permissions.append(card);
  });

  client.on("agentExit", ({ sessionId: id, exitCode, signal }) => {
    if (id !== sessionId) return;
    sessionId = undefined;
    label.textContent = `${id}: the agent exited (${signal === null ? `code ${exitCode}` : `signal ${signal}`})`;
    send.disabled = true;
    permissions.replaceChildren();
  });

  start.addEventListener("click", () => void startSession(agents.value));

  async function startSession(agentType: string): Promise<void> {
    start.disabled = true;
    try {
      const session = await client.createSession(agentType, { cwd: "/" });
      if (sessionId !== undefined) {
        const previous = sessionId;
        client.closeSession(previous).catch((error: unknown) => status.error(`closeSession ${previous}`, error));
      }
      sessionId = session.sessionId;
      reply = undefined;
      label.textContent = `${session.agentType} ${session.sessionId}`;
      answer.replaceChildren();
      permissions.replaceChildren();
      send.disabled = false;
      input.focus();
    } catch (error) {
      status.error(`createSession ${agentType}`, error);
    } finally {
      start.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sessionId !== undefined && input.value !== "") void sendPrompt(sessionId, input.value);
  });

  /** One turn at a time: the agent refuses a prompt while one is running. */
  async function sendPrompt(id: string, text: string): Promise<void> {
    input.value = "";
    send.disabled = true;
    const turn = element("div", { class: "turn" }, element("div", { class: "you" }, text));
    reply = turn.appendChild(element("div", { class: "reply" }));
    answer.append(turn);
    try {
      turn.dataset.stopReason = (await client.prompt(id, text)).stopReason;
    } catch (error) {
      turn.dataset.stopReason = "error";
      status.error("prompt", error);
    } finally {
      // A session started meanwhile has its own Send, already enabled.
      if (sessionId === id) send.disabled = false;
    }
  }

  async function respond(
    id: string,
    permissionId: string,
    optionId: string,
    card: HTMLElement,
    buttons: HTMLButtonElement[],
  ): Promise<void> {
    for (const button of buttons) button.disabled = true;
    try {
      await client.respondPermission(id, permissionId, { optionId });
      card.remove();
    } catch (error) {
      for (const button of buttons) button.disabled = false;
      status.error("respondPermission", error);
    }
  }
}

type JsonObject = { [key: string]: JsonValue };
const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The text of an ACP `agent_message_chunk` update; undefined for any other update. */
function messageChunk(update: JsonValue): string | undefined {
  if (!isObject(update) || update.sessionUpdate !== "agent_message_chunk") return undefined;
  const content = update.content;
  return isObject(content) && content.type === "text" && typeof content.text === "string" ? content.text : undefined;
}

/** What the agent wants to do, from ACP's `session/request_permission` params. */
function toolCallTitle(request: JsonValue): string {
  const toolCall = isObject(request) ? request.toolCall : undefined;
  return isObject(toolCall) && typeof toolCall.title === "string" ? toolCall.title : "The agent asks for permission";
}

/** The options ACP's `session/request_permission` params offer, in the agent's order. */
function permissionOptions(request: JsonValue): Array<{ optionId: string; name: string }> {
  const options = isObject(request) && Array.isArray(request.options) ? request.options : [];
  return options.flatMap((option) =>
    isObject(option) && typeof option.optionId === "string"
      ? [{ optionId: option.optionId, name: typeof option.name === "string" ? option.name : option.optionId }]
      : [],
  );
}
