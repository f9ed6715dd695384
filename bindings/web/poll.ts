import { isActorError } from "@agentos/client";

/**
 * Runs `refresh` now and again `every` ms after each run ends, so that slow calls never
 * pile up; failures go to `onError`. Polling stops once the client is disconnected, since a
 * client never reconnects. The returned function asks for a refresh as soon as the one in
 * progress (if any) ends, for changes the page made itself.
 */
export function poll(refresh: () => Promise<void>, every: number, onError: (error: unknown) => void): () => void {
  let wake: (() => void) | undefined;
  let again = false;
  void (async () => {
    for (;;) {
      again = false;
      try {
        await refresh();
      } catch (error) {
        onError(error);
        if (isActorError(error, "disconnected")) return;
      }
      if (!again)
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, every);
        });
      wake = undefined;
    }
  })();
  return () => {
    again = true;
    wake?.();
  };
}
