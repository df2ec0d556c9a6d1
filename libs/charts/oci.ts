// The part of the OCI Distribution API that `helm pull` uses: tags, the manifest (Helm's media
// types) and the chart layer's blob by digest, with the registry token flow (anonymous, basic
// or bearer credentials exchanged at the realm the registry names).
import { ChartFetchError } from './errors.js';
import { authorization, type HelmRepoCredential } from './credentials.js';
import { expectOk, httpGet, safeUrl, type GetOptions, type GetResponse } from './http.js';

/** Helm's media types (helm.sh/helm/v3/pkg/registry). */
export const HELM_MEDIA_TYPES = {
  config: 'application/vnd.cncf.helm.config.v1+json',
  chart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  provenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
} as const;

/** An `oci://host[:port]/path/chart[:tag]` reference, split. */
export interface OciRef {
  registry: string;
  repository: string;
  tag?: string;
}

/** Splits an `oci://` reference; throws `ChartFetchError` when malformed. */
export function parseOciRef(ref: string): OciRef {
  const match = /^oci:\/\/([^/\s]+)\/([^\s:@]+)(?::([\w][\w.+-]{0,127}))?$/.exec(ref);
  if (match === null) {
    throw new ChartFetchError(`${ref}: not an OCI reference like oci://registry/path/chart[:tag]`);
  }
  const [, registry = '', repository = '', tag] = match;
  return { registry, repository, ...(tag === undefined ? {} : { tag }) };
}

/** Limits and trust for registry requests. */
export interface OciOptions {
  credential: HelmRepoCredential | undefined;
  allowHttp: boolean;
  idleTimeoutMs: number;
  maxManifestBytes: number;
  maxChartBytes: number;
}

function challengeParams(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g)) {
    if (m[1] !== undefined) params[m[1]] = m[2] ?? '';
  }
  return { scheme, params };
}

/** A client for one repository of one registry, remembering the token it was given. */
export class OciRepository {
  private auth: string | undefined;
  private readonly base: string;

  constructor(
    readonly ref: OciRef,
    private readonly opts: OciOptions,
  ) {
    // Registries on loopback are spoken to over http only when the GitRepo allows it.
    this.base = `${opts.allowHttp ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}`;
    this.auth = opts.credential?.token !== undefined ? authorization(opts.credential) : undefined;
  }

  private get where(): string {
    return `oci://${this.ref.registry}/${this.ref.repository}`;
  }

  /** GETs `path`: relative to the repository (`tags/list`), or origin-absolute (`/v2/...`). */
  private async get(
    path: string,
    accept: string | undefined,
    maxBytes: number,
    what: string,
  ): Promise<GetResponse> {
    const options = (): GetOptions => ({
      headers: {
        ...(accept === undefined ? {} : { accept }),
        ...(this.auth === undefined ? {} : { authorization: this.auth }),
      },
      ca: this.opts.credential?.caBundle,
      maxBytes,
      allowHttp: this.opts.allowHttp,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      what,
    });
    const url = new URL(path, `${this.base}/`).toString();
    let res = await httpGet(url, options());
    if (res.status === 401 && (await this.authenticate(res))) res = await httpGet(url, options());
    return res;
  }

  /** Answers a 401 challenge: basic credentials directly, or a token from the bearer realm. */
  private async authenticate(res: GetResponse): Promise<boolean> {
    const header = res.headers['www-authenticate'];
    if (header === undefined) return false;
    const { scheme, params } = challengeParams(header);
    const credential = this.opts.credential;
    if (scheme === 'basic') {
      const basic = authorization(credential);
      if (basic === undefined || basic === this.auth) return false;
      this.auth = basic;
      return true;
    }
    if (scheme !== 'bearer' || params.realm === undefined) return false;
    const realm = new URL(params.realm);
    if (params.service !== undefined) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.ref.repository}:pull`);
    const basicOrToken = authorization(credential);
    const tokenHeaders: Record<string, string> =
      basicOrToken === undefined ? {} : { authorization: basicOrToken };
    const tokenRes = await httpGet(realm, {
      headers: tokenHeaders,
      ca: credential?.caBundle,
      maxBytes: 1024 * 1024,
      allowHttp: this.opts.allowHttp,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      what: 'registry token',
    });
    expectOk(tokenRes, `${this.where}: token from ${safeUrl(realm)}`);
    let token: unknown;
    try {
      const body = JSON.parse(tokenRes.body.toString('utf8')) as {
        token?: unknown;
        access_token?: unknown;
      };
      token = body.token ?? body.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') {
      throw new ChartFetchError(`${this.where}: the registry's token service answered no token`);
    }
    const next = `Bearer ${token}`;
    if (next === this.auth) return false;
    this.auth = next;
    return true;
  }

  /** Every tag of the repository (following `Link` pagination). */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = 'tags/list?n=1000';
    for (let page = 0; path !== undefined && page < 100; page++) {
      const res = await this.get(path, 'application/json', this.opts.maxManifestBytes, 'tag list');
      expectOk(res, `${this.where}: tags`);
      let body: { tags?: unknown };
      try {
        body = JSON.parse(res.body.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new ChartFetchError(`${this.where}: the tag list is not JSON`);
      }
      if (Array.isArray(body.tags))
        out.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.link ?? '');
      path = link?.[1];
    }
    return out;
  }

  /** The digest (sha256 hex) of the chart layer of the manifest tagged `tag`. */
  async chartLayer(tag: string): Promise<{ digest: string; size: number }> {
    const res = await this.get(
      `manifests/${encodeURIComponent(tag)}`,
      HELM_MEDIA_TYPES.manifest,
      this.opts.maxManifestBytes,
      'manifest',
    );
    if (res.status === 404) {
      throw new ChartFetchError(`${this.where}: no tag ${JSON.stringify(tag)}`);
    }
    expectOk(res, `${this.where}:${tag}`);
    let manifest: { layers?: unknown; config?: { mediaType?: unknown } };
    try {
      manifest = JSON.parse(res.body.toString('utf8')) as typeof manifest;
    } catch {
      throw new ChartFetchError(`${this.where}:${tag}: the manifest is not JSON`);
    }
    const layers = Array.isArray(manifest.layers)
      ? (manifest.layers as Record<string, unknown>[])
      : [];
    const layer = layers.find(
      (l) => l.mediaType === HELM_MEDIA_TYPES.chart || l.mediaType === 'application/tar+gzip',
    );
    const digest =
      typeof layer?.digest === 'string'
        ? /^sha256:([0-9a-f]{64})$/.exec(layer.digest)?.[1]
        : undefined;
    if (layer === undefined || digest === undefined) {
      throw new ChartFetchError(
        `${this.where}:${tag} is not a Helm chart (no ${HELM_MEDIA_TYPES.chart} layer)`,
      );
    }
    const size = typeof layer.size === 'number' ? layer.size : 0;
    if (size > this.opts.maxChartBytes) {
      throw new ChartFetchError(
        `${this.where}:${tag}: the chart is ${size} bytes, larger than the limit of ${this.opts.maxChartBytes}`,
      );
    }
    return { digest, size };
  }

  /** The blob `sha256:<digest>` (the registry may redirect to storage). */
  async blob(digest: string): Promise<Buffer> {
    const res = await this.get(
      `blobs/sha256:${digest}`,
      undefined,
      this.opts.maxChartBytes,
      'chart archive',
    );
    expectOk(res, `${this.where}@sha256:${digest}`);
    return res.body;
  }
}
