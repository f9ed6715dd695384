export * from "./runtime/index.js";
export * from "./generated/client.js";
