/**
 * The process panel: the VM's spawned processes, running and recently exited, read again
 * each second (`listProcesses`), one `tr[data-pid]` each.
 */
import type { AgentOsClient, ProcessInfo } from "@agentos/client";

import { byId, element } from "./dom.js";
import { poll } from "./poll.js";
import type { Status } from "./status.js";

export function processPanel(client: AgentOsClient, status: Status): void {
  const rows = byId("process-rows", HTMLTableSectionElement);
  poll(
    async () => {
      const processes = await client.listProcesses();
      rows.replaceChildren(
        ...processes.map((p) =>
          element(
            "tr",
            { "data-pid": String(p.pid), "data-running": String(p.running) },
            element("td", {}, String(p.pid)),
            element("td", {}, p.command.join(" ")),
            element("td", {}, state(p)),
          ),
        ),
      );
    },
    1000,
    (error) => status.error("listProcesses", error),
  );
}

function state(p: ProcessInfo): string {
  if (p.running) return "running";
  return p.signal === null ? `exit ${p.exitCode}` : `signal ${p.signal}`;
}
