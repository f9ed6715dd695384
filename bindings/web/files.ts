/**
 * The file panel: the VM's tree from `/`, a viewer for the file clicked, and a form that
 * writes a file. Directories are read when opened, and again when a `fsChanged` event of the
 * page's watch on `/` names something in them (all open ones on an overflow). A watch does not
 * see into mounts, so every open directory is also read again every few seconds. Rows are kept by path across refreshes,
 * so open directories stay open and a click never lands on a row that was just replaced.
 * Each row is `li[data-path][data-kind]`, its button the entry's name.
 */
import { type AgentOsClient, type DirEntry, isActorError } from "@agentos/client";

import { byId, element } from "./dom.js";
import { poll } from "./poll.js";
import type { Status } from "./status.js";

/** How often open directories are read again, for what the watch does not see (mounts). */
const POLL_MS = 5000;

/** How much of a file the viewer shows; the rest is left out, with a note. */
const VIEW_LIMIT = 64 * 1024;

export function filePanel(client: AgentOsClient, status: Status): void {
  const view = byId("file-view", HTMLPreElement);
  const form = byId("save-form", HTMLFormElement);
  const savePath = byId("save-path", HTMLInputElement);
  const saveText = byId("save-text", HTMLTextAreaElement);

  /** The list of rows of each open directory, by path. */
  const open = new Map<string, HTMLUListElement>([["/", byId("file-tree", HTMLUListElement)]]);
  const rows = new Map<string, HTMLLIElement>();

  const refreshNow = poll(
    async () => {
      await Promise.all([...open.keys()].map(refreshDirectory));
    },
    POLL_MS,
    (error) => status.error("files", error),
  );
  client
    .watchFs("/", { recursive: true })
    .then(({ watchId }) =>
      client.on("fsChanged", (event) => {
        if (event.watchId !== watchId) return;
        const parents = event.paths.map((path) => path.slice(0, path.lastIndexOf("/")) || "/");
        const stale = event.overflow ? [...open.keys()] : [...new Set(parents)].filter((dir) => open.has(dir));
        for (const dir of stale) refreshDirectory(dir).catch((error: unknown) => status.error("files", error));
      }),
    )
    .catch((error: unknown) => status.error("watchFs /", error));

  async function refreshDirectory(path: string): Promise<void> {
    let entries: DirEntry[];
    try {
      entries = await client.readdirRecursive(path, { maxDepth: 0 });
    } catch (error) {
      if (path === "/") throw error;
      // Closed, so that it does not fail every second. One deleted while open (not_found)
      // closes quietly: its row goes with its parent's next refresh.
      if (open.has(path) && !isActorError(error, "not_found")) status.error(`readdir ${path}`, error);
      close(path);
      return;
    }
    const list = open.get(path);
    if (list === undefined) return; // closed while it was being read
    const wanted = entries.map((entry) => {
      const kept = rows.get(entry.path);
      if (kept?.dataset.kind === entry.kind) return kept;
      if (kept) forget(entry.path);
      const row = newRow(entry);
      rows.set(entry.path, row);
      return row;
    });
    // Rows gone from the directory; one that changed kind was already replaced above.
    for (const row of list.children as HTMLCollectionOf<HTMLLIElement>) {
      if (!wanted.includes(row) && rows.get(row.dataset.path!) === row) forget(row.dataset.path!);
    }
    if (wanted.some((row, i) => list.children[i] !== row) || list.children.length !== wanted.length) {
      list.replaceChildren(...wanted);
    }
  }

  function newRow(entry: DirEntry): HTMLLIElement {
    const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
    const suffix = { directory: "/", symlink: "@", file: "" }[entry.kind];
    const button = element("button", { type: "button" }, name + suffix);
    const row = element("li", { "data-path": entry.path, "data-kind": entry.kind }, button);
    button.addEventListener("click", () => {
      if (entry.kind !== "directory") void show(entry.path);
      else if (open.has(entry.path)) close(entry.path);
      else {
        const list = element("ul");
        row.append(list);
        open.set(entry.path, list);
        button.setAttribute("aria-expanded", "true");
        refreshNow();
      }
    });
    return row;
  }

  /** Closes an open directory: its rows, and the directories open below it, are dropped. */
  function close(path: string): void {
    for (const [dir, list] of open) {
      if (dir === path || dir.startsWith(`${path}/`)) {
        list.remove();
        open.delete(dir);
      }
    }
    for (const below of rows.keys()) if (below.startsWith(`${path}/`)) rows.delete(below);
    rows.get(path)?.querySelector(":scope > button")?.removeAttribute("aria-expanded");
  }

  /** Drops a row that is gone (or changed kind), with what was open below it. */
  function forget(path: string): void {
    close(path);
    rows.delete(path);
  }

  let shown = 0;
  /** Shows a file's text; of two clicks in quick succession, the later one wins. */
  async function show(path: string): Promise<void> {
    const turn = ++shown;
    try {
      const bytes = await client.readFile(path);
      if (turn !== shown) return;
      // `stream` holds back a character cut in half at the limit instead of mangling it.
      const text = new TextDecoder().decode(bytes.subarray(0, VIEW_LIMIT), { stream: true });
      view.textContent =
        bytes.length > VIEW_LIMIT ? `${text}\n… (${bytes.length} bytes, the first ${VIEW_LIMIT} shown)` : text;
      view.dataset.path = path;
      for (const row of rows.values()) row.classList.toggle("selected", row.dataset.path === path);
    } catch (error) {
      status.error(`readFile ${path}`, error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void save(savePath.value, saveText.value);
  });

  async function save(path: string, text: string): Promise<void> {
    try {
      await client.writeFile(path, text);
      status.info(`saved ${path}`);
      refreshNow();
      if (view.dataset.path === path) await show(path);
    } catch (error) {
      status.error(`writeFile ${path}`, error);
    }
  }
}
