/**
 * The package as an app outside this repository gets it: `npm pack`, installed from the
 * tarball into a temporary app (its dependencies from the registry or npm's cache), where a
 * consumer type-checks under `tsc --strict` (and a wrong call does not), the ESM entry loads,
 * and the `agentos-terminal` bin runs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(PACKAGE, "node_modules/typescript/bin/tsc");

let app: string;
const run = (command: string, args: string[]) => execFileSync(command, args, { cwd: app, encoding: "utf8" });

before(() => {
  app = mkdtempSync(join(tmpdir(), "agentos-app-"));
  const tarball = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", app], {
    cwd: PACKAGE,
    encoding: "utf8",
  }).trim();
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  run("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--silent", `./${tarball}`]);
});

after(() => {
  rmSync(app, { recursive: true, force: true });
});

test("a consumer outside the repository type-checks against the installed package, and a wrong call does not", () => {
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", noEmit: true, types: [] },
      include: ["consumer.ts"],
    }),
  );
  const consumer = `import { ActorError, createAgentOsClient, downloadFile, uploadFile, webSocketTransport, type ExecResult } from "@agentos/client";
const client = createAgentOsClient(webSocketTransport({ url: "ws://127.0.0.1:6420", token: "t", key: "app" }));
export async function use(): Promise<ExecResult> {
  await uploadFile(client, "/f", new Uint8Array(3), { onProgress: ({ bytes }) => bytes });
  const bytes: Uint8Array = await downloadFile(client, "/f");
  if (bytes.length === 0) throw new ActorError("agentos", "internal", "empty");
  return client.exec("true", { onStdout: (chunk: Uint8Array) => chunk.length });
}
`;
  writeFileSync(join(app, "consumer.ts"), consumer);
  run(process.execPath, [TSC, "-p", "."]);
  writeFileSync(join(app, "consumer.ts"), `${consumer}export const wrong = () => client.writeFile(42, "text");\n`);
  assert.throws(() => run(process.execPath, [TSC, "-p", "."]), (error: { stdout?: string }) =>
    /consumer\.ts\(\d+,\d+\): error TS2345: Argument of type 'number'/.test(error.stdout ?? ""),
  );
});

test("the ESM entry loads and the agentos-terminal bin runs from the app", () => {
  const loaded = run(process.execPath, ["--input-type=module", "-e", 'const m = await import("@agentos/client"); console.log(typeof m.createAgentOsClient, typeof m.uploadFile)']);
  assert.equal(loaded, "function function\n");
  const help = run(join(app, "node_modules/.bin/agentos-terminal"), ["--help"]);
  assert.match(help, /--url/);
});
