import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** A `file:` URL for a path, relative paths taken from the working directory. */
export function toFileUrl(path: string): string {
  return pathToFileURL(resolve(path)).href;
}
