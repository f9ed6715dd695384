/**
 * The console's status line: the last thing that went wrong (or just happened), where it
 * does not interrupt like an alert. Errors also go to the browser's console, whole.
 */
export interface Status {
  /** Shows that `what` failed with `error`. */
  error(what: string, error: unknown): void;
  /** Shows a piece of news, such as a saved file. */
  info(text: string): void;
}

export function statusLine(line: HTMLElement): Status {
  const show = (text: string, kind: "error" | "info") => {
    line.textContent = text;
    line.dataset.kind = kind;
  };
  return {
    error(what, error) {
      console.error(what, error);
      show(`${what}: ${error instanceof Error ? error.message : String(error)}`, "error");
    },
    info: (text) => show(text, "info"),
  };
}
