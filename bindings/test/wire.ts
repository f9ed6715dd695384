/**
 * The wire as the end-to-end suites see it: {@link recorded} wraps a transport so that every
 * frame, both ways, is appended to `$AGENTOS_WIRE_LOG` as one JSON line in the JSON encoding's
 * form (`{ conn, from, frame }`), and {@link checkWire} validates each action's arguments and
 * result and each event's payload in such a log against the contract's JSON Schema. Suites send
 * wrong arguments on purpose: arguments the schema rejects must be refused by the host (an
 * `Error` for that call), so the schema and the host are checked against each other.
 */
import { appendFileSync, createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

import { decodeFrame, encodeJsonCompat, type Encoding, type Transport, type WireData } from "../src/runtime/index.js";

const LOG = process.env.AGENTOS_WIRE_LOG;
let connections = 0;

/** `transport`, its frames logged when `AGENTOS_WIRE_LOG` names a file. */
export function recorded(transport: Transport): Transport {
  if (LOG === undefined) return transport;
  const log = LOG;
  return {
    async open(onMessage, onClose) {
      const conn = `${process.pid}:${++connections}`;
      let encoding: Encoding | undefined;
      const early: WireData[] = [];
      const write = (from: "client" | "server", data: WireData, as: Encoding) =>
        appendFileSync(log, `${JSON.stringify({ conn, from, frame: encodeJsonCompat(shrink(decodeFrame(data, as))) })}\n`);
      const connection = await transport.open((data) => {
        if (encoding === undefined) early.push(data);
        else write("server", data, encoding);
        onMessage(data);
      }, onClose);
      encoding = connection.encoding;
      for (const data of early.splice(0)) write("server", data, encoding);
      return {
        encoding: connection.encoding,
        send(data) {
          write("client", data, connection.encoding);
          connection.send(data);
        },
        close: () => connection.close(),
      };
    },
  };
}

/** Bytes kept of each byte string: the schema checks where bytes are, not what they hold, and
 * the suites move hundreds of megabytes. */
const KEPT_BYTES = 16;

function shrink(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.subarray(0, KEPT_BYTES);
  if (Array.isArray(value)) return value.map(shrink);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrink(v)]));
  }
  return value;
}

/** The generated schemas, by the contract hash a host's `Init` names. */
const SCHEMAS = ["../../src/generated/", "../../examples/notes/"].map((dir) => {
  const read = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(dir + name, import.meta.url)), "utf8"));
  return { hash: read("contract.json").hash as string, schema: read("contract.schema.json") as { $id: string } };
});

/** A validator of each generated schema's definitions, by contract hash. */
export function validators(): Map<string, (definition: string) => ValidateFunction | undefined> {
  // Trailing optional arguments make tuples whose minItems is below their length, on purpose.
  const ajv = new Ajv2020({ strict: true, strictTuples: false, allErrors: true });
  return new Map(
    SCHEMAS.map(({ hash, schema }) => {
      ajv.addSchema(schema);
      return [hash, (definition: string) => ajv.getSchema(`${schema.$id}#/$defs/${definition}`)];
    }),
  );
}

interface Line {
  conn: string;
  from: "client" | "server";
  frame: { body: { tag: string; val: Record<string, unknown> } };
}

/**
 * Every violation in the log at `path`, one line each; how many payloads were checked; and
 * how many invalid calls the host refused, as it must.
 */
export async function checkWire(path: string): Promise<{ checked: number; refused: number; violations: string[] }> {
  const byHash = validators();
  const contracts = new Map<string, (definition: string) => ValidateFunction | undefined>();
  const calls = new Map<string, string>();
  /** Calls whose arguments the schema rejects, until the host answers them. */
  const invalid = new Map<string, string>();
  const violations: string[] = [];
  let [checked, refused] = [0, 0];
  const check = (conn: string, definition: string, value: unknown): string | undefined => {
    const validate = contracts.get(conn)?.(definition);
    if (validate === undefined) return `${conn}: no definition ${definition}`;
    checked += 1;
    if (!validate(value)) return `${conn} ${definition}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(value)}`;
    return undefined;
  };
  const report = (violation: string | undefined) => {
    if (violation !== undefined) violations.push(violation);
  };
  for await (const text of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (text === "") continue;
    const { conn, from, frame } = JSON.parse(text) as Line;
    const { tag, val } = frame.body;
    if (tag === "Init") {
      const contract = byHash.get(val.contractHash as string);
      if (contract === undefined) violations.push(`${conn}: a host with an unknown contract ${String(val.contractHash)}`);
      else contracts.set(conn, contract);
    } else if (tag === "ActionRequest") {
      const call = `${conn}/${String(val.id)}`;
      calls.set(call, val.name as string);
      const violation = check(conn, `action:${String(val.name)}:args`, val.args);
      if (violation !== undefined) invalid.set(call, violation);
    } else if (tag === "ActionResponse") {
      const call = `${conn}/${String(val.id)}`;
      const wrongArgs = invalid.get(call);
      if (wrongArgs !== undefined) violations.push(`the host answered arguments the schema rejects: ${wrongArgs}`);
      invalid.delete(call);
      report(check(conn, `action:${calls.get(call)}:result`, val.output));
    } else if (tag === "Error" && val.actionId !== null && invalid.delete(`${conn}/${String(val.actionId)}`)) {
      refused += 1;
    } else if (tag === "Event" && from === "server") {
      const [payload] = val.args as unknown[];
      const bridge = contracts.get(conn)?.(`bridge:${String(val.name)}:request`);
      report(check(conn, bridge ? `bridge:${String(val.name)}:request` : `event:${String(val.name)}`, payload));
    }
  }
  return { checked, refused, violations };
}
