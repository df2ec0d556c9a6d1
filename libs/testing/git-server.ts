import { execFile, spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Credentials the test server demands: HTTP basic auth, or a bearer token. */
export type GitServerAuth = { username: string; password: string } | { token: string };

/** A `git http-backend` smart HTTP server over temporary bare repositories. */
export interface GitServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`; a repository is at `${url}/${name}.git`. */
  url: string;
  /** Directory holding the bare repositories (`GIT_PROJECT_ROOT`). */
  root: string;
  /** Creates `<root>/<name>.git` with one commit of `files` on `main`. */
  createRepo(
    name: string,
    files: Record<string, string>,
  ): Promise<{ url: string; bareDir: string }>;
  /**
   * Commits `files` (a `null` value deletes the file) to `branch` (default `main`; created from
   * `main` when missing) and pushes it to the bare repository. Returns the new commit sha.
   */
  commit(
    name: string,
    files: Record<string, string | null>,
    message?: string,
    options?: { branch?: string },
  ): Promise<string>;
  /** HTTP requests served so far (method and path), to assert on network use. */
  requests(): readonly string[];
  /** Closes the server and removes every repository and work tree. */
  stop(): Promise<void>;
}

// Git must not read the developer's or the machine's configuration (signing, hooks, templates).
const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
};

const identity = [
  '-c',
  'user.name=Flotilla Test',
  '-c',
  'user.email=test@flotilla.invalid',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'init.defaultBranch=main',
];

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', [...identity, ...args], {
    cwd,
    env: gitEnv,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

/**
 * Starts `git http-backend` (CGI) behind a `node:http` server on 127.0.0.1 and a free port.
 * Request and response bodies are streamed to and from the CGI process. With `auth`, requests
 * without the right `Authorization` header get `401` and `WWW-Authenticate`.
 */
export async function startGitServer({ auth }: { auth?: GitServerAuth } = {}): Promise<GitServer> {
  const root = await mkdtemp(join(tmpdir(), 'flotilla-git-root-'));
  const work = await mkdtemp(join(tmpdir(), 'flotilla-git-work-'));
  const log: string[] = [];
  const children = new Set<ReturnType<typeof spawn>>();

  const expected =
    auth === undefined
      ? undefined
      : 'token' in auth
        ? `Bearer ${auth.token}`
        : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

  const authorized = (req: IncomingMessage): boolean => {
    if (expected === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    const want = Buffer.from(expected);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    log.push(`${req.method ?? 'GET'} ${url.pathname}`);
    if (!authorized(req)) {
      res.writeHead(401, {
        'WWW-Authenticate':
          auth !== undefined && 'token' in auth ? 'Bearer' : 'Basic realm="flotilla-test"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...gitEnv,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      ...(expected !== undefined ? { REMOTE_USER: 'flotilla' } : {}),
      ...(req.headers['content-type'] ? { CONTENT_TYPE: req.headers['content-type'] } : {}),
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding']
        ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
        : {}),
      ...(typeof req.headers['git-protocol'] === 'string'
        ? { HTTP_GIT_PROTOCOL: req.headers['git-protocol'] }
        : {}),
    };
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.on('close', () => children.delete(child));
    child.on('error', (err) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`git http-backend failed: ${err.message}\n`);
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined); // the backend may exit before reading everything
    res.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });

    // Parse the CGI header block, then stream the rest of stdout as the response body.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf !== -1 && (lf === -1 || crlf < lf) ? crlf + 4 : lf !== -1 ? lf + 2 : -1;
      if (end === -1) return;
      child.stdout.off('data', onData);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      const rest = head.subarray(end);
      if (rest.length > 0) res.write(rest);
      child.stdout.pipe(res);
    };
    child.stdout.on('data', onData);
    child.on('close', (code) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend exited with ${code ?? 'a signal'}: ${stderr}\n`);
      }
    });
  };

  const server = createServer(handle);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const bareDirOf = (name: string): string => {
    const dir = resolve(root, `${name}.git`);
    if (!dir.startsWith(root + sep)) throw new Error(`repository name escapes the root: ${name}`);
    return dir;
  };
  const workDirOf = (name: string): string => join(work, name);

  const apply = async (dir: string, files: Record<string, string | null>): Promise<void> => {
    for (const [path, content] of Object.entries(files)) {
      const target = resolve(dir, path);
      if (!target.startsWith(dir + sep)) throw new Error(`file path escapes the repo: ${path}`);
      if (content === null) {
        await rm(target, { recursive: true, force: true });
      } else {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content);
      }
    }
  };

  return {
    url: base,
    root,
    async createRepo(name, files) {
      const bareDir = bareDirOf(name);
      const dir = workDirOf(name);
      await mkdir(dirname(bareDir), { recursive: true });
      await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', bareDir]);
      await mkdir(dir, { recursive: true });
      await git(dir, ['init', '--quiet', '--initial-branch=main']);
      await git(dir, ['remote', 'add', 'origin', bareDir]);
      await apply(dir, files);
      await git(dir, ['add', '--all']);
      await git(dir, ['commit', '--quiet', '--allow-empty', '-m', 'initial commit']);
      await git(dir, ['push', '--quiet', 'origin', 'main']);
      return { url: `${base}/${name}.git`, bareDir };
    },
    async commit(name, files, message = 'update', { branch = 'main' } = {}) {
      const dir = workDirOf(name);
      const exists = await git(dir, ['branch', '--list', branch]);
      await git(
        dir,
        exists ? ['checkout', '--quiet', branch] : ['checkout', '--quiet', '-b', branch, 'main'],
      );
      await apply(dir, files);
      await git(dir, ['add', '--all']);
      await git(dir, ['commit', '--quiet', '--allow-empty', '-m', message]);
      await git(dir, ['push', '--quiet', 'origin', branch]);
      return git(dir, ['rev-parse', 'HEAD']);
    },
    requests: () => [...log],
    async stop() {
      for (const child of children) child.kill();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await rm(root, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    },
  };
}
