/**
 * What an editor shows a consumer (`consumer/app.ts`): every call through an alias of an
 * action (a peer's name for it) is reported deprecated, with the pointer to the primary name,
 * and no call through a primary name is. TypeScript's language service gives these as
 * suggestion diagnostics ("The signature … of 'client.deleteFile' is deprecated.", code 6387),
 * which `tsc` does not print.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import ts from "typescript";

import { contract } from "../src/generated/contract.js";

const CONSUMER = fileURLToPath(new URL("../../consumer/", import.meta.url));
const CONTRACT = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../src/generated/contract.json", import.meta.url)), "utf8"),
) as { actions: Array<{ name: string; aliasOf?: string }> };

test("calls through aliases are deprecated in the consumer, and only those", () => {
  const config = ts.getParsedCommandLineOfConfigFile(`${CONSUMER}tsconfig.json`, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  })!;
  const service = ts.createLanguageService({
    getCompilationSettings: () => config.options,
    getScriptFileNames: () => config.fileNames,
    getScriptVersion: () => "1",
    getScriptSnapshot: (file) => (ts.sys.fileExists(file) ? ts.ScriptSnapshot.fromString(ts.sys.readFile(file)!) : undefined),
    getCurrentDirectory: () => CONSUMER,
    getDefaultLibFileName: ts.getDefaultLibFilePath,
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath,
  });
  const app = `${CONSUMER}app.ts`;
  const deprecated = service
    .getSuggestionDiagnostics(app)
    .filter((d) => d.code === 6387)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n").match(/ of 'client\.(\w+)' is deprecated\.$/)?.[1]);
  const aliases = CONTRACT.actions.filter((a) => a.aliasOf !== undefined).map((a) => a.name);
  assert.deepEqual(aliases.sort(), ["deleteFile", "getConfigOptions", "getModes"]);
  assert.ok(aliases.every((alias) => alias in contract.actions));
  // deleteFile is called twice (once wrongly, on purpose).
  assert.deepEqual(deprecated.sort(), ["deleteFile", "deleteFile", "getConfigOptions", "getModes"]);
});
