import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
// The kubeconfig model, parsing and authenticators of @kubernetes/client-node, imported from
// their own modules: its index (and its `KubeConfig`, through the generated API client) loads
// thousands of generated API and model classes the agent never uses, ~45 MiB of the agent's
// memory. The package has no `exports` map, so these paths are importable.
import type { Authenticator } from '@kubernetes/client-node/dist/auth.js';
import {
  newClusters,
  newContexts,
  newUsers,
  type Cluster,
  type Context,
  type User,
} from '@kubernetes/client-node/dist/config_types.js';
import { parse as parseYaml } from 'yaml';

/** Where a pod finds its service account (in-cluster configuration). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What a request to the API server needs: its URL's base, TLS (in the agent) and headers. */
export interface KubeRequestOptions {
  /** The API server URL without a trailing slash, e.g. `https://10.0.0.1:443`. */
  server: string;
  agent: http.Agent;
  headers: Record<string, string>;
}

/** One entry of client-node's authenticators, loaded only when a user needs it. */
interface AuthenticatorEntry {
  applies(user: User, provider: AuthProvider | undefined): boolean;
  load(): Promise<Authenticator>;
}

interface AuthProvider {
  name?: unknown;
  config?: { tokenFile?: unknown; exec?: unknown };
}

/** client-node's authenticators, in the order its `KubeConfig` tries them. */
const AUTHENTICATORS: readonly AuthenticatorEntry[] = [
  {
    applies: (_user, provider) => provider?.name === 'azure',
    load: async () => new (await import('@kubernetes/client-node/dist/azure_auth.js')).AzureAuth(),
  },
  {
    applies: (_user, provider) => provider?.name === 'gcp',
    load: async () =>
      new (await import('@kubernetes/client-node/dist/gcp_auth.js')).GoogleCloudPlatformAuth(),
  },
  {
    applies: (user, provider) =>
      Boolean(user.exec) || provider?.name === 'exec' || Boolean(provider?.config?.exec),
    load: async () => new (await import('@kubernetes/client-node/dist/exec_auth.js')).ExecAuth(),
  },
  {
    applies: (_user, provider) => Boolean(provider?.config?.tokenFile),
    load: async () => new (await import('@kubernetes/client-node/dist/file_auth.js')).FileAuth(),
  },
  {
    applies: (_user, provider) => provider?.name === 'oidc',
    load: async () =>
      new (await import('@kubernetes/client-node/dist/oidc_auth.js')).OpenIDConnectAuth(),
  },
];

/**
 * The connection to one cluster from a kubeconfig or a pod's service account: what
 * client-node's `KubeConfig` does for a request (the current context's server, its CA, client
 * certificate and `tls-server-name`, `insecure-skip-tls-verify`, `proxy-url`, bearer tokens,
 * basic auth, impersonation, and the exec, token file, OIDC, Azure and GCP authenticators),
 * with client-node's own kubeconfig model and authenticators, and one keep-alive agent as long
 * as the TLS material does not change.
 */
export class KubeConnection {
  /** The API server URL without a trailing slash. */
  readonly server: string;
  private authenticator: Promise<Authenticator | undefined> | undefined;
  private agent: { agent: http.Agent; tls: TlsMaterial } | undefined;

  private constructor(
    readonly cluster: Cluster,
    readonly user: User,
  ) {
    this.server = cluster.server.replace(/\/+$/, '');
    if (this.server.startsWith('http:') && !cluster.skipTLSVerify && !cluster.proxyUrl) {
      throw new Error(
        `the API server URL ${cluster.server} is plain HTTP; set insecure-skip-tls-verify to allow it`,
      );
    }
  }

  /**
   * The current context of a kubeconfig file; the paths in it are relative to its directory.
   * Several files (`KUBECONFIG`, separated by `path.delimiter`) are merged as kubectl does: the
   * first file naming a cluster, user or context wins, and the first current-context.
   */
  static fromFiles(paths: readonly string[]): KubeConnection {
    const clusters: Cluster[] = [];
    const users: User[] = [];
    const contexts: Context[] = [];
    let currentContext: string | undefined;
    for (const path of paths) {
      const config = (parseYaml(readFileSync(path, 'utf8'), { merge: true }) ?? {}) as Record<
        string,
        unknown
      >;
      const root = dirname(path);
      addNew(
        clusters,
        newClusters(config.clusters).map((c) => ({ ...c, caFile: absolute(root, c.caFile) })),
      );
      addNew(
        users,
        newUsers(config.users).map((u) => ({
          ...u,
          certFile: absolute(root, u.certFile),
          keyFile: absolute(root, u.keyFile),
        })),
      );
      addNew(contexts, newContexts(config.contexts));
      const current = config['current-context'];
      if (currentContext === undefined && typeof current === 'string' && current !== '') {
        currentContext = current;
      }
    }
    const source = paths.join(delimiter);
    if (currentContext === undefined) throw new Error(`${source} has no current-context`);
    const context = contexts.find((c) => c.name === currentContext);
    if (context === undefined) {
      throw new Error(`${source}: the current-context ${currentContext} does not exist`);
    }
    const cluster = clusters.find((c) => c.name === context.cluster);
    if (cluster === undefined) {
      throw new Error(
        `${source}: the cluster ${context.cluster} of context ${context.name} does not exist`,
      );
    }
    // kubectl accepts a context without a user (no credentials).
    const user = users.find((u) => u.name === context.user) ?? { name: context.user ?? '' };
    return new KubeConnection(cluster, user);
  }

  /**
   * The pod's service account: the API server from `KUBERNETES_SERVICE_HOST`/`_PORT`, its CA,
   * and its token, read again every minute (it is rotated).
   */
  static inCluster(
    dir = SERVICE_ACCOUNT_DIR,
    env: NodeJS.ProcessEnv = process.env,
  ): KubeConnection {
    const host = env.KUBERNETES_SERVICE_HOST ?? '';
    const port = env.KUBERNETES_SERVICE_PORT ?? '';
    if (host === '' || port === '') {
      throw new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set');
    }
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
    return new KubeConnection(
      {
        name: 'inCluster',
        server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
        caFile: join(dir, 'ca.crt'),
        skipTLSVerify: scheme === 'http',
      },
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } },
      },
    );
  }

  /** `$KUBECONFIG` (a list of files), else `~/.kube/config`; undefined when there is neither. */
  static defaultPaths(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
    const list = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
    if (list.length > 0) return list;
    const home = join(homedir(), '.kube', 'config');
    return existsSync(home) ? [home] : undefined;
  }

  /** Headers and agent of a request; runs the user's authenticator (which may refresh). */
  async requestOptions(): Promise<KubeRequestOptions> {
    const { cluster, user } = this;
    const tls: TlsMaterial = {
      ca: fileOrData(cluster.caFile, cluster.caData),
      cert: fileOrData(user.certFile, user.certData),
      key: fileOrData(user.keyFile, user.keyData),
    };
    const headers: Record<string, string> = {};
    if (user.impersonateUser !== undefined) headers['Impersonate-User'] = user.impersonateUser;
    const authenticator = await (this.authenticator ??= this.loadAuthenticator());
    if (authenticator !== undefined) {
      const opts: https.RequestOptions = { headers: {} };
      await authenticator.applyAuthentication(user, opts);
      for (const [name, value] of Object.entries(opts.headers ?? {})) {
        if (typeof value === 'string') headers[name] = value;
      }
      // Exec credentials may hold a client certificate.
      if (opts.cert !== undefined) tls.cert = opts.cert as string | Buffer;
      if (opts.key !== undefined) tls.key = opts.key as string | Buffer;
    }
    if (user.token) headers.Authorization = `Bearer ${user.token}`;
    if (user.username) {
      headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    }
    return { server: this.server, agent: await this.agentFor(tls), headers };
  }

  /** Closes the idle connections of the agent. */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  private async loadAuthenticator(): Promise<Authenticator | undefined> {
    const provider = this.user.authProvider as AuthProvider | undefined;
    for (const entry of AUTHENTICATORS) {
      if (!entry.applies(this.user, provider)) continue;
      const authenticator = await entry.load();
      if (authenticator.isAuthProvider(this.user)) return authenticator;
    }
    return undefined;
  }

  private async agentFor(tls: TlsMaterial): Promise<http.Agent> {
    if (this.agent !== undefined && sameTls(this.agent.tls, tls)) return this.agent.agent;
    this.agent?.agent.destroy();
    const { cluster } = this;
    const options: https.AgentOptions = {
      keepAlive: true,
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    };
    let agent: http.Agent;
    if (cluster.proxyUrl) {
      agent = await proxyAgent(cluster.proxyUrl, this.server, options);
    } else if (this.server.startsWith('http:')) {
      agent = new http.Agent(options);
    } else {
      agent = new https.Agent(options);
    }
    this.agent = { agent, tls };
    return agent;
  }
}

/** The TLS material of a request (read from files again for each, as client-node does). */
interface TlsMaterial {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

function sameTls(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: string | Buffer | undefined, y: string | Buffer | undefined) =>
    x === undefined || y === undefined ? x === y : Buffer.from(x).equals(Buffer.from(y));
  return same(a.ca, b.ca) && same(a.cert, b.cert) && same(a.key, b.key);
}

/** An agent through the cluster's `proxy-url` (SOCKS, or HTTP CONNECT), as client-node's. */
async function proxyAgent(
  proxyUrl: string,
  server: string,
  options: https.AgentOptions,
): Promise<http.Agent> {
  if (proxyUrl.startsWith('socks')) {
    const { SocksProxyAgent } = await import('socks-proxy-agent');
    return new SocksProxyAgent(proxyUrl, options);
  }
  const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
  return server.startsWith('https')
    ? new HttpsProxyAgent({ ...options, proxy: proxyUrl })
    : new HttpProxyAgent({ ...options, proxy: proxyUrl });
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

function absolute(root: string, file: string | undefined): string | undefined {
  return file === undefined || file === '' || isAbsolute(file) ? file : join(root, file);
}

/** Adds the entries whose names are not there yet (the first file naming one wins). */
function addNew<T extends { name: string }>(into: T[], entries: readonly T[]): void {
  for (const entry of entries) {
    if (!into.some((e) => e.name === entry.name)) into.push(entry);
  }
}
