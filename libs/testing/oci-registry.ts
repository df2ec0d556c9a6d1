// A small in-memory OCI Distribution API server for tests: what `helm push` and `helm pull`
// (and the hub's chart fetcher) use — blob uploads (monolithic and chunked), blobs and
// manifests by digest or tag, tag lists — with no auth, basic auth, or the bearer token flow.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the registry authenticates: not at all, HTTP basic, or bearer tokens from its /token realm. */
export type OciRegistryAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'token'; username: string; password: string };

/** A running test registry. */
export interface OciRegistry {
  /** `127.0.0.1:<port>`: the host of `oci://` references. */
  host: string;
  /** Requests served so far (`METHOD path`), to assert on network use. */
  requests(): readonly string[];
  /** Tags of a repository. */
  tags(repository: string): string[];
  stop(): Promise<void>;
}

interface Manifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Starts a registry on 127.0.0.1 (a free port). */
export async function startOciRegistry(
  auth: OciRegistryAuth = { kind: 'none' },
): Promise<OciRegistry> {
  const blobs = new Map<string, Buffer>();
  const uploads = new Map<string, Buffer[]>();
  const manifests = new Map<string, Map<string, Manifest>>(); // repo → tag|digest → manifest
  const tokens = new Set<string>();
  const log: string[] = [];
  let host = '';

  const basicOk = (header: string | undefined): boolean => {
    if (auth.kind === 'none' || header === undefined || !header.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return same(user ?? '', auth.username) && same(rest.join(':'), auth.password);
  };

  const authorized = (req: IncomingMessage, res: ServerResponse, scope: string): boolean => {
    if (auth.kind === 'none') return true;
    const header = req.headers.authorization;
    if (auth.kind === 'basic') {
      if (basicOk(header)) return true;
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="test-registry"',
        'content-type': 'application/json',
      });
      res.end(
        JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
      );
      return false;
    }
    if (header?.startsWith('Bearer ') && tokens.has(header.slice(7))) return true;
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="${scope}"`,
      'content-type': 'application/json',
    });
    res.end(
      JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
    );
    return false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    const method = req.method ?? 'GET';
    log.push(`${method} ${url.pathname}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const notFound = (code: string) =>
      json(404, { errors: [{ code, message: code.toLowerCase() }] });

    if (url.pathname === '/token') {
      if (auth.kind !== 'token' || !basicOk(req.headers.authorization)) {
        json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
        return;
      }
      const token = randomUUID();
      tokens.add(token);
      json(200, { token, access_token: token, expires_in: 300 });
      return;
    }
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      if (!authorized(req, res, 'registry:catalog:*')) return;
      json(200, {});
      return;
    }
    const match = /^\/v2\/(.+?)\/(blobs\/uploads|blobs|manifests|tags|referrers)(?:\/(.*))?$/.exec(
      url.pathname,
    );
    if (match === null) return notFound('NAME_UNKNOWN');
    const [, repo = '', kind, rest = ''] = match;
    const writing = method !== 'GET' && method !== 'HEAD';
    if (!authorized(req, res, `repository:${repo}:${writing ? 'pull,push' : 'pull'}`)) return;

    if (kind === 'blobs/uploads') {
      const digest = url.searchParams.get('digest');
      if (method === 'POST' && rest === '') {
        const body = await readAll(req);
        if (digest !== null) {
          if (digestOf(body) !== digest)
            return json(400, { errors: [{ code: 'DIGEST_INVALID', message: 'digest' }] });
          blobs.set(digest, body);
          res.writeHead(201, {
            location: `/v2/${repo}/blobs/${digest}`,
            'docker-content-digest': digest,
          });
          res.end();
          return;
        }
        const id = randomUUID();
        uploads.set(id, body.length > 0 ? [body] : []);
        res.writeHead(202, {
          location: `/v2/${repo}/blobs/uploads/${id}`,
          'docker-upload-uuid': id,
          range: '0-0',
        });
        res.end();
        return;
      }
      const parts = uploads.get(rest);
      if (parts === undefined) return notFound('BLOB_UPLOAD_UNKNOWN');
      parts.push(await readAll(req));
      const size = parts.reduce((n, p) => n + p.length, 0);
      if (method === 'PATCH') {
        res.writeHead(202, {
          location: `/v2/${repo}/blobs/uploads/${rest}`,
          'docker-upload-uuid': rest,
          range: `0-${Math.max(0, size - 1)}`,
        });
        res.end();
        return;
      }
      if (method === 'PUT' && digest !== null) {
        const body = Buffer.concat(parts);
        uploads.delete(rest);
        if (digestOf(body) !== digest)
          return json(400, { errors: [{ code: 'DIGEST_INVALID', message: 'digest' }] });
        blobs.set(digest, body);
        res.writeHead(201, {
          location: `/v2/${repo}/blobs/${digest}`,
          'docker-content-digest': digest,
        });
        res.end();
        return;
      }
      return json(405, { errors: [{ code: 'UNSUPPORTED', message: method }] });
    }
    if (kind === 'blobs') {
      const blob = blobs.get(rest);
      if (blob === undefined) return notFound('BLOB_UNKNOWN');
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(blob.length),
        'docker-content-digest': rest,
      });
      res.end(method === 'HEAD' ? undefined : blob);
      return;
    }
    if (kind === 'manifests') {
      const byRef = manifests.get(repo) ?? new Map<string, Manifest>();
      if (method === 'PUT') {
        const body = await readAll(req);
        const manifest = {
          body,
          mediaType: req.headers['content-type'] ?? 'application/vnd.oci.image.manifest.v1+json',
          digest: digestOf(body),
        };
        byRef.set(rest, manifest);
        byRef.set(manifest.digest, manifest);
        manifests.set(repo, byRef);
        res.writeHead(201, {
          location: `/v2/${repo}/manifests/${manifest.digest}`,
          'docker-content-digest': manifest.digest,
        });
        res.end();
        return;
      }
      const manifest = byRef.get(rest);
      if (manifest === undefined) return notFound('MANIFEST_UNKNOWN');
      res.writeHead(200, {
        'content-type': manifest.mediaType,
        'content-length': String(manifest.body.length),
        'docker-content-digest': manifest.digest,
      });
      res.end(method === 'HEAD' ? undefined : manifest.body);
      return;
    }
    if (kind === 'tags') {
      const byRef = manifests.get(repo);
      if (byRef === undefined) return notFound('NAME_UNKNOWN');
      const all = [...byRef.keys()].filter((t) => !t.startsWith('sha256:')).sort();
      const n = Number(url.searchParams.get('n') ?? '0');
      const last = url.searchParams.get('last');
      const after = last === null ? all : all.filter((t) => t > last);
      const page = n > 0 ? after.slice(0, n) : after;
      const headers: Record<string, string> =
        n > 0 && after.length > n
          ? {
              link: `</v2/${repo}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1] ?? '')}>; rel="next"`,
            }
          : {};
      return json(200, { name: repo, tags: page }, headers);
    }
    return notFound('NAME_UNKNOWN'); // referrers: clients fall back to tags
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    requests: () => log,
    tags: (repository) =>
      [...(manifests.get(repository)?.keys() ?? [])].filter((t) => !t.startsWith('sha256:')).sort(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
