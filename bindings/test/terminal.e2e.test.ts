/**
 * Interactive shells through a real host: a Node terminal (streams, not a TTY) typing,
 * resizing and exiting, and the browser page driving xterm.js in Debian's Chromium. The
 * browser test saves a screenshot to test-output/terminal.png.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";

import { connectTerminal, createAgentOsClient, nodeTerminal, webSocketTransport } from "../src/index.js";
import { launchChromium, NO_CHROMIUM, screenshot, WEB } from "./chromium.js";
import { startHost, type Host } from "./host.js";
import { ScreenStream, keyboard } from "./terminal-streams.js";

describe("terminals", () => {
  let host: Host;
  before(async () => {
    host = await startHost(["--web-root", WEB]);
  });
  after(async () => {
    await host.stop();
  });

  test("a Node terminal types, resizes and exits through a shell", async () => {
    const client = createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "terminal" }));
    const input = keyboard();
    const screen = new ScreenStream(80, 24);
    const terminal = nodeTerminal(input, screen);
    try {
      const done = connectTerminal(client, terminal);
      input.write("echo hello-$((6*7))\r");
      await screen.waitFor(/hello-42/);
      screen.resize(100, 40);
      input.write("stty size\r");
      await screen.waitFor(/40 100/);
      input.write("exit 3\r");
      assert.deepEqual(await done, { exitCode: 3, signal: null });
    } finally {
      terminal.restore();
      client.close();
    }
  });

  test(
    "the browser page runs a shell in xterm.js",
    { skip: NO_CHROMIUM },
    async () => {
      const { browser, close } = await launchChromium();
      let page: Page | undefined;
      try {
        page = browser.pages()[0] ?? (await browser.newPage());
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        // The page the host serves, talking to the host it came from.
        const base = `${host.url.replace(/^ws:/, "http:")}/terminal/`;
        const fragment = new URLSearchParams({ token: host.token, key: "terminal-web" });
        await page.goto(`${base}#${fragment}`);
        await page.waitForFunction(() => (globalThis as unknown as PageGlobals).term !== undefined);
        await page.click("#terminal");
        await page.keyboard.type("echo hello");
        await page.keyboard.press("Enter");
        await lineOnScreen(page, "hello");
        // A token in the query string has already reached the server: the page refuses it.
        const refused = await browser.newPage();
        await refused.goto(`${base}?${fragment}`);
        await lineOnScreen(refused, "Token refused: use #token=TOKEN, not ?token=");
        await refused.close();
        assert.deepEqual(errors, []);
      } finally {
        await screenshot(page, "terminal.png");
        await close();
      }
    },
  );
});

/** Waits for a line of the page's terminal that is `line`, trailing spaces aside. */
async function lineOnScreen(page: Page, line: string): Promise<void> {
  await page.waitForFunction(
    (line) => {
      const buffer = (globalThis as unknown as PageGlobals).term.buffer.active;
      for (let i = 0; i < buffer.length; i++) {
        if (buffer.getLine(i)?.translateToString(true).trim() === line) return true;
      }
      return false;
    },
    line,
    { timeout: 15_000 },
  );
}

/** What the page exposes on `window`: its xterm.js terminal. */
interface PageGlobals {
  term: {
    buffer: {
      active: { length: number; getLine(y: number): { translateToString(trimRight: boolean): string } | undefined };
    };
  };
}
