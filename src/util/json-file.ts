// Reading a JSON file with one-line errors that name the file (STYLE.md §10): a file that cannot
// be read fails with the caller's reason, malformed JSON with the parser's message.
import { promises as fs } from 'node:fs';
import { FileError } from './errors.js';

/** Parse `file` as JSON; `missing` is the reason given when it cannot be read. */
export async function readJsonFile(file: string, missing: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileError(file, missing);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileError(file, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}
