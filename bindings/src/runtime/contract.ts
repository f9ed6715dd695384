/**
 * What the generated `contract.ts` tells the runtime about the actor: enough to build one
 * method per action and to route callback and bridge events, nothing about value types.
 */

/** A callback parameter: option property `option` receives the payloads of event `event`. */
export interface CallbackSpec {
  option: string;
  event: string;
}

export interface ActionSpec {
  /** Number of positional parameters the host takes (callbacks not counted). */
  arity: number;
  callbacks: ReadonlyArray<CallbackSpec>;
}

/** A host-to-client request: raised as `event`, answered through action `respondAction`. */
export interface BridgeSpec {
  event: string;
  respondAction: string;
}

export interface RuntimeContract {
  actor: string;
  /** Semantic version: the host's must have the same major and at least this minor. */
  version: string;
  /** The exact contract: equal to the host's `contractHash` unless the host is a compatible other version. */
  hash: string;
  actions: Record<string, ActionSpec>;
  bridges: Record<string, BridgeSpec>;
}

/**
 * Names an action cannot have: the client object's own members, `then` (which would make the
 * client a thenable, so `await client` would call it) and the members every JavaScript object
 * inherits. The `#[surface]` macro refuses the same names at compile time; a unit test of the
 * macro (`macros/src/model.rs`) reads this list and fails when the two differ.
 */
export const RESERVED_NAMES: readonly string[] = [
  "on",
  "handle",
  "ready",
  "close",
  "then",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
];

/** Throws if the contract cannot be turned into a client. */
export function checkContract(contract: RuntimeContract): void {
  for (const name of Object.keys(contract.actions)) {
    if (RESERVED_NAMES.includes(name)) {
      throw new Error(`action \`${name}\` of ${contract.actor} clashes with the client's own \`${name}\``);
    }
  }
  for (const [bridge, { respondAction }] of Object.entries(contract.bridges)) {
    if (!Object.hasOwn(contract.actions, respondAction)) {
      throw new Error(`bridge \`${bridge}\` answers through unknown action \`${respondAction}\``);
    }
  }
}
