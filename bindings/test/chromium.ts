/**
 * Debian's Chromium, headless, for the browser tests (driven by `playwright-core`), and where
 * their screenshots go.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium as playwright, type BrowserContext, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests are skipped, or false when Chromium is there. */
export const NO_CHROMIUM =
  !existsSync(CHROMIUM) && `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`;

/** The host-served pages, for `--web-root`. */
export const WEB = fileURLToPath(new URL("../../web/", import.meta.url));

const ARTIFACTS = fileURLToPath(new URL("../../../test-output/", import.meta.url));

/** A browser with a fresh profile, and how to close it and delete the profile. */
export async function launchChromium(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "agentos-chromium-"));
  const browser = await playwright.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...options,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a screenshot of `page` as `test-output/<name>`; a page that is gone is skipped. */
export async function screenshot(page: Page | undefined, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page?.screenshot({ path: join(ARTIFACTS, name) }).catch(() => {});
}
