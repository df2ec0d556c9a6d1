import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { findFreePort } from './free-port.js';

/** True when nothing listens on `host:port` right now (we could bind it, and released it). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The port kept in `file`, or undefined when there is none (or it is not a port number). */
export async function readRememberedPort(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const port = Number(text.trim());
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** Keeps `port` in `file` (atomically) for the next start. */
export async function rememberPort(file: string, port: number): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${port}\n`);
  await rename(tmp, file);
}

/**
 * The port a local server should listen on: the one it had at its last start (kept in `file`),
 * so that clients holding its address find it again after a restart; a new free port only when
 * that one is taken now (said in the log, naming both) or when there is none yet.
 */
export async function chooseRememberedPort(
  file: string,
  what: string,
  log: (line: string) => void,
  host = '127.0.0.1',
): Promise<number> {
  const remembered = await readRememberedPort(file);
  if (remembered === undefined) return findFreePort(host);
  if (await isPortFree(remembered, host)) return remembered;
  const port = await findFreePort(host);
  log(
    `port ${remembered} of the last start (kept in ${file}) is taken by another process; ` +
      `${what} listens on port ${port} instead`,
  );
  return port;
}
