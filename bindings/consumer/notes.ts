// A consumer of the example app's generated client (`examples/notes`, one actor with the app's
// own actions and every built-in one). `tsc --strict -p consumer` must accept every typed call
// and reject every line marked @ts-expect-error.
import { webSocketTransport } from "@agentos/client";

import { createNotesClient, type ExportInfo, type Note, type NotesClient } from "../dist/examples/notes/client.js";

export async function notes(url: string, token: string): Promise<void> {
  const app: NotesClient = createNotesClient(webSocketTransport({ url, token, key: "notes" }));
  const note: Note = await app.addNote("buy milk");
  const all: Note[] = await app.listNotes();
  const exported: ExportInfo = await app.exportNotes("/notes.txt");
  const exists: boolean = await app.exists("/notes.txt");
  const read: string = await app.readTextFile(exported.path);
  console.log(note.id, all.length, exported.words, exists, read);

  // @ts-expect-error a note's text is a string
  await app.addNote(42);
  // @ts-expect-error exportNotes takes the path
  await app.exportNotes();
  // @ts-expect-error no such action on the app's actor
  await app.deleteNote(1);
  // @ts-expect-error an ExportInfo has no text
  console.log(exported.text);
}
