/**
 * The browser console page (`bindings/web`) in Debian's Chromium against a real host with
 * its built-in agent: files saved through the page and written by another client show up in
 * its tree, a session streams the agent's answers and takes a permission choice, and a
 * process spawned by another client shows up in its process list. Screenshots go to
 * test-output/console-files.png, console-session.png and console.png.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";

import { type AgentOsClient, createAgentOsClient, webSocketTransport } from "../src/index.js";
import { launchChromium, NO_CHROMIUM, screenshot, WEB } from "./chromium.js";
import { startHost, type Host } from "./host.js";

const WAIT = { timeout: 15_000 };

describe(
  "the console page",
  { skip: NO_CHROMIUM },
  () => {
    let host: Host;
    let vm: AgentOsClient;
    let browser: BrowserContext;
    let closeBrowser: (() => Promise<void>) | undefined;
    let page: Page;
    const errors: string[] = [];

    before(async () => {
      host = await startHost(["--web-root", WEB]);
      // Another client of the same VM, changing it behind the page's back.
      vm = createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "console" }));
      ({ browser, close: closeBrowser } = await launchChromium({ viewport: { width: 1280, height: 800 } }));
      page = browser.pages()[0] ?? (await browser.newPage());
      page.on("pageerror", (error) => errors.push(error.message));
      const fragment = new URLSearchParams({ token: host.token, key: "console" });
      await page.goto(`${host.url.replace(/^ws:/, "http:")}/terminal/#${fragment}`);
    });

    after(async () => {
      await closeBrowser?.();
      vm?.close();
      await host?.stop();
    });

    test("files saved through the page and written by another client appear in the tree", async () => {
      try {
        await page.fill("#save-path", "/from-page.txt");
        await page.fill("#save-text", "written by the page");
        await page.click("#save-form button[type=submit]");
        await page.waitForSelector('#file-tree [data-path="/from-page.txt"]', WAIT);
        assert.equal(await vm.readTextFile("/from-page.txt"), "written by the page");
        await page.click('[data-path="/from-page.txt"] > button');
        await page.waitForSelector('#file-view[data-path="/from-page.txt"]', WAIT);
        assert.equal(await page.textContent("#file-view"), "written by the page");

        // The page did nothing to learn of these; its watch (fsChanged) shows them within 2 s,
        // which its fallback poll, every 5 s, mostly would not.
        const EVENT = { timeout: 2_000 };
        await vm.writeFile("/from-node.txt", "written by Node");
        await vm.mkdir("/notes");
        await page.waitForSelector('#file-tree [data-path="/from-node.txt"]', EVENT);
        // A directory is read when opened, and read again while open.
        await page.click('[data-path="/notes"][data-kind="directory"] > button', WAIT);
        await vm.writeFile("/notes/later.txt", "after the directory was opened");
        await page.waitForSelector('[data-path="/notes"] [data-path="/notes/later.txt"]', EVENT);
      } finally {
        await screenshot(page, "console-files.png");
      }
    });

    test("a session with the built-in agent streams answers and takes a permission choice", async () => {
      try {
        await page.selectOption("#agent", "builtin", WAIT);
        await page.click("#session-start");
        await page.waitForSelector("#prompt-send:enabled", WAIT);

        // The first prompt of a session carries the VM's instructions before the text, and the
        // built-in agent echoes them too; this one's answer is checked by its end only.
        await page.fill("#prompt", "permission");
        await page.click("#prompt-send");
        const options = page.locator('#permissions .permission button[data-option-id]');
        await options.first().waitFor(WAIT);
        assert.deepEqual(await options.evaluateAll((buttons) => buttons.map((b) => b.getAttribute("data-option-id"))), [
          "allow-once",
          "allow-once-read-only",
          "allow-always",
          "reject-once",
        ]);
        await options.first().click();
        await turnEnds(page, 0, (reply) => /^echo: .*permissionpermission: selected allow-once$/s.test(reply));
        await page.waitForSelector("#permissions .permission", { ...WAIT, state: "detached" });

        await page.fill("#prompt", "hello");
        await page.click("#prompt-send");
        await turnEnds(page, 1, (reply) => reply === "echo: hello");
      } finally {
        await screenshot(page, "console-session.png");
      }
    });

    test("a process spawned by another client appears in the process list, then its end", async () => {
      try {
        const sleeper = await vm.spawn("sleep", ["30"]);
        const row = `#process-rows tr[data-pid="${sleeper.pid}"]`;
        await page.waitForSelector(`${row}[data-running="true"]`, WAIT);
        assert.match((await page.textContent(row)) ?? "", /sleep 30\s*running/);
        await vm.killProcess(sleeper.pid, "SIGKILL");
        await page.waitForSelector(`${row}[data-running="false"]`, WAIT);
        assert.match((await page.textContent(row)) ?? "", /signal SIGKILL/);
      } finally {
        await screenshot(page, "console.png");
      }
    });

    test("a reload attaches to the same shell and shows its recent screen", async () => {
      try {
        await page.click("#terminal");
        await page.keyboard.type("echo kept-$((3*3))");
        await page.keyboard.press("Enter");
        await onScreen(page, "kept-9");
        const before = (await vm.listShells()).map((shell) => shell.shellId);
        assert.equal(before.length, 1);
        await page.reload();
        await onScreen(page, "kept-9");
        assert.deepEqual(
          (await vm.listShells()).map((shell) => shell.shellId),
          before,
        );
        await page.click("#terminal");
        await page.keyboard.type("echo again-$((4*4))");
        await page.keyboard.press("Enter");
        await onScreen(page, "again-16");
      } finally {
        await screenshot(page, "console-reload.png");
      }
    });

    test("the page raised no errors and its status line shows none", async () => {
      assert.deepEqual(errors, []);
      assert.notEqual(await page.getAttribute("#status", "data-kind"), "error", (await page.textContent("#status")) ?? "");
    });
  },
);

/**
 * Waits for turn `index` of the session panel to end (it has a stop reason) with a reply
 * that passes `check`, and asserts that it ended the ordinary way.
 */
async function turnEnds(page: Page, index: number, check: (reply: string) => boolean): Promise<void> {
  const turn = page.locator("#answer .turn").nth(index);
  await turn.and(page.locator("[data-stop-reason]")).waitFor(WAIT);
  const reply = (await turn.locator(".reply").textContent()) ?? "";
  assert.ok(check(reply), `unexpected reply: ${JSON.stringify(reply)}`);
  assert.equal(await turn.getAttribute("data-stop-reason"), "end_turn");
}

/** Waits until a line of the page's terminal contains `text`. */
async function onScreen(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (text) => {
      const term = (globalThis as unknown as { term?: { buffer: { active: TerminalBuffer } } }).term;
      const buffer = term?.buffer.active;
      for (let i = 0; buffer !== undefined && i < buffer.length; i++) {
        if (buffer.getLine(i)?.translateToString(true).includes(text)) return true;
      }
      return false;
    },
    text,
    WAIT,
  );
}

/** What the test reads of xterm.js's buffer. */
interface TerminalBuffer {
  length: number;
  getLine(y: number): { translateToString(trimRight: boolean): string } | undefined;
}
