/**
 * The frames of docs/protocol.md. Everything that arrives is checked here before the client
 * trusts its fields, so a misbehaving host produces an `invalid_input` report, not a TypeError
 * deep inside the dispatcher.
 */
import { ActorError } from "./errors.js";

/** Every frame on the wire, in both directions and both encodings. */
export interface Frame {
  body: { tag: string; val: unknown };
}

/** The host's limits, as reported by `Init`. */
export interface Limits {
  maxMessageBytes: number;
  maxDepth: number;
  maxValues: number;
  maxBinaryBytes: number;
}

/** The value of the host's first frame: who we are talking to and what it accepts. */
export interface InitInfo {
  actorId: string;
  connectionId: string;
  /** Hash of the contract the host serves. */
  contractHash: string;
  /** Version of the contract the host serves. */
  contractVersion: string;
  limits: Limits;
}

export interface ErrorInfo {
  group: string;
  code: string;
  message: string;
  metadata?: unknown;
  /** The call this error fails, or `null` when the host could not attribute it. */
  actionId: number | null;
}

export type ServerFrame =
  | { tag: "Init"; val: InitInfo }
  | { tag: "ActionResponse"; val: { id: number; output: unknown } }
  | { tag: "Error"; val: ErrorInfo }
  | { tag: "Event"; val: { name: string; args: unknown[] } };

export type ClientFrame =
  | { tag: "ActionRequest"; val: { id: number; name: string; args: unknown[] } }
  | { tag: "SubscriptionRequest"; val: { eventName: string; subscribe: boolean } }
  | { tag: "CancelRequest"; val: { id: number } };

/** Narrows a decoded frame to one the host may send, checking the fields the client reads. */
export function parseServerFrame({ body: { tag, val } }: Frame): ServerFrame {
  if (isRecord(val)) {
    switch (tag) {
      case "Init":
        if (
          typeof val.actorId === "string" &&
          typeof val.connectionId === "string" &&
          typeof val.contractHash === "string" &&
          isRecord(val.limits) &&
          typeof val.limits.maxMessageBytes === "number"
        ) {
          return { tag, val: val as unknown as InitInfo };
        }
        break;
      case "ActionResponse":
        if (typeof val.id === "number") return { tag, val: { id: val.id, output: val.output } };
        break;
      case "Error":
        if (
          typeof val.group === "string" &&
          typeof val.code === "string" &&
          typeof val.message === "string" &&
          (typeof val.actionId === "number" || val.actionId == null)
        ) {
          return { tag, val: { ...val, actionId: val.actionId ?? null } as ErrorInfo };
        }
        break;
      case "Event":
        if (typeof val.name === "string" && Array.isArray(val.args)) {
          return { tag, val: { name: val.name, args: val.args } };
        }
        break;
    }
  }
  throw new ActorError("agentos", "invalid_input", `unexpected or malformed ${tag} frame`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
