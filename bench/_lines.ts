/**
 * Reads a child process's stdout one line at a time (the benchmarks'
 * children report JSON lines).
 *
 * @module
 */

/** Returns a function that resolves to the next line; it throws once the stream ends. */
export function lineReader(stream: ReadableStream<Uint8Array>, who: string): () => Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return async () => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`${who} exited early`);
      buffered += value;
    }
  };
}
