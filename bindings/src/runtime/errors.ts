/**
 * The one error type a caller sees. It mirrors the host's `ActorError`, so callers branch on
 * the stable `group`/`code` pair rather than on messages.
 */
export class ActorError extends Error {
  override readonly name: string = "ActorError";
  /** `agentos` for the core and its codec, `host` for connection-level failures. */
  readonly group: string;
  /** A stable code such as `not_found` or `limit_exceeded` (see docs/protocol.md). */
  readonly code: string;
  readonly metadata?: unknown;
  /** The request id of the call that failed, when the error answers one. */
  readonly actionId?: number;

  constructor(
    group: string,
    code: string,
    message: string,
    details: { metadata?: unknown; actionId?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.group = group;
    this.code = code;
    if (details.metadata !== undefined) this.metadata = details.metadata;
    if (details.actionId !== undefined) this.actionId = details.actionId;
  }
}

/** True if `value` is an `ActorError`, optionally with the given `code`. */
export function isActorError(value: unknown, code?: string): value is ActorError {
  return value instanceof ActorError && (code === undefined || value.code === code);
}

/**
 * A call its `signal` aborted (`client/aborted`): named `AbortError`, as `fetch` and the DOM's
 * abortable APIs reject, with the signal's reason as its cause. The client has told the host to
 * stop the call (a process it runs is killed, a prompt's turn cancelled).
 */
export class AbortError extends ActorError {
  override readonly name: string = "AbortError";
  constructor(action: string, reason: unknown) {
    super("client", "aborted", `${action}: the call was aborted`, { cause: reason });
  }
}
