import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliContext } from './context.js';
import { buildProgram } from './program.js';

/** One request as the fake hub saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A handler's answer: status and JSON body (none for 204). */
export interface FakeAnswer {
  status: number;
  body?: unknown;
}

/** A tiny `node:http` stand-in for the hub's REST API, for client-side tests. */
export interface FakeHub {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** Starts a fake hub on a free local port; `handle` answers each request. */
export async function startFakeHub(handle: (req: SeenRequest) => FakeAnswer): Promise<FakeHub> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      };
      requests.push(seen);
      const answer = handle(seen);
      if (answer.body === undefined) {
        res.writeHead(answer.status).end();
      } else {
        res
          .writeHead(answer.status, { 'content-type': 'application/json' })
          .end(JSON.stringify(answer.body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A local URL where nothing listens (a port that was just freed). */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** What one in-process run of the `flotilla` program printed, and what the fake hub was asked. */
export interface FakeHubRun {
  stdout: string;
  stderr: string;
  /** What the program rejected with (a failed command), or undefined. */
  error: Error | undefined;
  requests: SeenRequest[];
  /** The fake hub's URL (the run's `--server`). */
  url: string;
}

/**
 * Runs `flotilla ...args --server <fake hub>` in-process, against a fake hub answering with
 * `handle`, at the fixed time `now`. Each run starts its own fake hub; `close()` (in `afterEach`)
 * stops the last one.
 */
export function fakeHubCli(now: number): {
  run: (
    args: string[],
    handle: (req: SeenRequest) => FakeAnswer,
    stdoutExtra?: Partial<CliContext['stdout']> & Record<string, unknown>,
  ) => Promise<FakeHubRun>;
  close: () => Promise<void>;
} {
  let hub: FakeHub | undefined;
  return {
    run: async (args, handle, stdoutExtra = {}) => {
      await hub?.close();
      hub = await startFakeHub(handle);
      let stdout = '';
      let stderr = '';
      const program = buildProgram({
        stdout: { write: (s: string) => (stdout += s), ...stdoutExtra },
        stderr: { write: (s: string) => (stderr += s) },
        now: () => now,
      });
      const error = await program
        .parseAsync(['node', 'flotilla', ...args, '--server', hub.url], { from: 'node' })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      return { stdout, stderr, error, requests: hub.requests, url: hub.url };
    },
    close: async () => {
      await hub?.close();
      hub = undefined;
    },
  };
}
