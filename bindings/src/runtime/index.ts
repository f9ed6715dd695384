export { AbortError, ActorError, isActorError } from "./errors.js";
export { encodeJsonCompat, decodeJsonCompat } from "./envelope.js";
export { type Encoding, type WireData, encodeFrame, decodeFrame } from "./codec.js";
export type { Frame, InitInfo, Limits } from "./frames.js";
export {
  type ActionSpec,
  type BridgeSpec,
  type CallbackSpec,
  type RuntimeContract,
  RESERVED_NAMES,
} from "./contract.js";
export {
  type CloseInfo,
  type Connection,
  type Transport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from "./transport.js";
export { type RivetkitTransportOptions, rivetkitTransport } from "./rivetkit.js";
export {
  type BridgeHandler,
  type BridgeRequest,
  type CallEvent,
  type CallOptions,
  type ClientBase,
  type ClientOptions,
  type UntypedClient,
  createClient,
} from "./client.js";
export {
  type SnapshotChunkLike,
  type SnapshotDownloadOptions,
  type SnapshotInfoLike,
  type SnapshotWriter,
  type SnapshotReader,
  downloadSnapshot,
  uploadSnapshot,
} from "./snapshot.js";
export {
  type FileReader,
  type FileWriter,
  type TransferOptions,
  type TransferProgress,
  downloadFile,
  uploadFile,
} from "./transfer.js";
export {
  type NodeInputLike,
  type NodeOutputLike,
  type ShellAttacher,
  type ShellDataLike,
  type ShellEnd,
  type ShellEventsLike,
  type ShellExitLike,
  type ShellOpener,
  type TerminalShellOptions,
  type TerminalSide,
  type TerminalSize,
  type XtermLike,
  attachTerminal,
  connectTerminal,
  nodeTerminal,
  xtermTerminal,
} from "./terminal.js";
