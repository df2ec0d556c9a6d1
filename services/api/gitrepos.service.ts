import { fileURLToPath } from 'node:url';
import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { type Role, roleSatisfies } from '../../libs/auth/index.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import { parseDuration } from '../../libs/config/config.js';
import { GitRepoEventType, type Subjects, gitRepoEvent } from '../../libs/contracts/index.js';
import {
  type Bundle,
  BundleRepository,
  type GitRepo,
  GitRepoRepository,
  type GitRepoSpec,
  InvalidInputError,
  type PageRequest,
  type TargetSpec,
  type ValuesSourceInfo,
} from '../../libs/db/index.js';
import { ValuesSourceKind, remoteReason } from '../../libs/bundles/index.js';
import { helmCredentialsProblem } from '../../libs/charts/index.js';
import { confineToRoot, redactUrl } from '../../libs/git/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { toLabelSelector, validateClusterName } from '../../libs/selectors/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { HUB_CONFIG, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { readSelector } from './cluster-groups.service.js';
import type { GitRepoBody, PatchGitRepoBody, ValuesSourceBody } from './dto.js';
import { FleetSummaryCache, summaryFrom } from './fleet-summary-cache.js';

const MIN_POLL_MS = 1000;
const MAX_POLL_MS = 24 * 3_600_000;

import type { GitRepoView } from '../../libs/contracts/api-views.js';
import type { Cached } from '../../libs/status/summary-cache.js';
import type { FleetCounts } from './fleet-summary-cache.js';
/** Formats milliseconds back as a duration string (15000 → "15s"). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Checks a GitRepo body and turns it into a stored spec; 400 with the reason otherwise. */
export function toGitRepoSpec(
  body: z.infer<typeof GitRepoBody>,
  fileUrlRoot: string | undefined = undefined,
): GitRepoSpec {
  const nameError = validateClusterName(body.name);
  if (nameError) throw new InvalidInputError(`name "${body.name}": ${nameError}`);
  let url: URL;
  try {
    url = new URL(body.url);
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    throw new InvalidInputError('url is not a URL (use https://..., http://... or file:///...)');
  }
  if (!['https:', 'http:', 'file:'].includes(url.protocol)) {
    throw new InvalidInputError(
      `url scheme "${url.protocol}" is not supported (use https, http or file)`,
    );
  }
  if (url.username || url.password) {
    throw new InvalidInputError('put credentials in "auth", not in the URL');
  }
  if (url.protocol === 'file:') {
    if (fileUrlRoot === undefined) {
      throw new InvalidInputError(
        'file:// URLs are turned off on this hub; set FLOTILLA_FILE_URL_ROOT on it to the directory local repositories may be in',
      );
    }
    if (url.host !== '') {
      throw new InvalidInputError('a file:// URL names no host: file:///path/to/repo');
    }
    const confined = confineToRoot(fileURLToPath(url), fileUrlRoot);
    if (!confined.ok) throw new InvalidInputError(`url: ${confined.reason}`);
  }
  if (url.protocol === 'file:' && body.auth) {
    throw new InvalidInputError('auth is only for http(s) URLs');
  }
  const paths = (body.paths ?? ['']).map((p) => p.replace(/^\.?\/+|\/+$/g, '').replace(/^\.$/, ''));
  for (const p of paths) {
    if (p.startsWith('/') || p.split('/').includes('..')) {
      throw new InvalidInputError(`path "${p}" must stay inside the repository`);
    }
    const remote = remoteReason(p);
    if (remote !== undefined) {
      throw new InvalidInputError(
        `path "${p}" ${remote}; paths are directories of this repository`,
      );
    }
  }
  let pollingIntervalMs: number;
  try {
    pollingIntervalMs = parseDuration(body.pollingInterval ?? '15s');
  } catch (err) {
    throw new InvalidInputError(`pollingInterval: ${(err as Error).message}`);
  }
  if (
    pollingIntervalMs !== 0 &&
    (pollingIntervalMs < MIN_POLL_MS || pollingIntervalMs > MAX_POLL_MS)
  ) {
    throw new InvalidInputError('pollingInterval must be 0 (off) or from 1s to 24h');
  }
  const targets: TargetSpec[] = (body.targets ?? []).map((t, i) => {
    if (t.clusterSelector !== undefined) {
      try {
        return { clusterSelector: toLabelSelector(readSelector(t.clusterSelector)) };
      } catch (err) {
        throw new InvalidInputError(`targets[${i}].clusterSelector: ${(err as Error).message}`);
      }
    }
    const ref = t.clusterGroup ?? t.clusterName ?? '';
    const refError = validateClusterName(ref);
    if (refError) throw new InvalidInputError(`targets[${i}]: "${ref}": ${refError}`);
    return t.clusterGroup !== undefined ? { clusterGroup: ref } : { clusterName: ref };
  });
  const helmProblem =
    body.helmRepoCredentials === undefined
      ? undefined
      : helmCredentialsProblem(body.helmRepoCredentials);
  if (helmProblem !== undefined) throw new InvalidInputError(helmProblem);
  return {
    url: body.url,
    branch: body.revision ? (body.branch ?? null) : (body.branch ?? 'main'),
    revision: body.revision ?? null,
    paths: [...new Set(paths)],
    pollingIntervalMs,
    targets,
    credentials: body.auth ?? null,
    webhookSecret: body.webhookSecret ?? null,
    helmCredentials: body.helmRepoCredentials ?? null,
    helmAllowHttp: body.helmAllowHttp ?? false,
  };
}

/** What each Helm credential of a GitRepo is (`basic`, `token`, `+ca`), never the secret itself. */
function helmCredentialsView(r: GitRepo): Record<string, string> | null {
  const all = r.helmCredentials?.reveal();
  if (all === undefined) return null;
  const view: Record<string, string> = {};
  for (const [prefix, c] of Object.entries(all)) {
    const kind = c.token !== undefined ? 'token' : c.username !== undefined ? 'basic' : 'ca';
    view[prefix] = c.caBundle !== undefined && kind !== 'ca' ? `${kind}+ca` : kind;
  }
  return view;
}

/** Why a GitRepo is not doing what its owner may think, though nothing failed. */
export interface GitRepoWarning {
  /** `NoTargets`: the GitRepo has no targets, so its bundles deploy to no cluster. */
  reason: 'NoTargets';
  message: string;
}

/** The warnings of a GitRepo's spec (shown in its status). */
export function gitRepoWarnings(r: Pick<GitRepo, 'targets'>): GitRepoWarning[] {
  if (r.targets.length > 0) return [];
  return [
    {
      reason: 'NoTargets',
      message:
        'no targets: its bundles deploy to no cluster; add targets (e.g. {"clusterSelector": "env=prod"}, a clusterGroup or a clusterName)',
    },
  ];
}

/** GitRepos: Git sources of bundles, with their sync status and deployment summary. */
@Injectable()
export class GitReposService {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
    private readonly repos: GitRepoRepository,
    private readonly bundles: BundleRepository,
    private readonly summaries: FleetSummaryCache,
  ) {}

  async create(body: z.infer<typeof GitRepoBody>) {
    const repo = await this.repos.create(body.name, toGitRepoSpec(body, this.config.fileUrlRoot));
    this.announce(repo.name, GitRepoEventType.Changed);
    return this.view(repo);
  }

  async replace(name: string, body: z.infer<typeof GitRepoBody>) {
    if (body.name !== name)
      throw new InvalidInputError(
        `name in the body ("${body.name}") differs from the path ("${name}")`,
      );
    const repo = await this.repos.replace(name, toGitRepoSpec(body, this.config.fileUrlRoot));
    this.announce(name, GitRepoEventType.Changed);
    return this.view(repo);
  }

  /**
   * A partial update: the given fields replace the stored ones, then the whole spec is checked
   * as on create. With `generation`, only if nobody changed the GitRepo since (409 otherwise).
   */
  async patch(name: string, body: z.infer<typeof PatchGitRepoBody>, role?: Role) {
    // Where the fleet's manifests come from and the secrets stay the admin's, as on create.
    const adminOnly = (
      ['url', 'auth', 'webhookSecret', 'helmRepoCredentials', 'helmAllowHttp'] as const
    ).filter((f) => body[f] !== undefined);
    if (role !== undefined && !roleSatisfies(role, 'admin') && adminOnly.length > 0) {
      throw new ForbiddenException(
        `changing ${adminOnly.join(', ')} of a GitRepo needs the admin role (this token is ${role})`,
      );
    }
    if (body.name !== undefined && body.name !== name)
      throw new InvalidInputError(
        `name in the body ("${body.name}") differs from the path ("${name}"); a GitRepo cannot be renamed`,
      );
    const current = await this.repos.get(name);
    const keep = <T>(given: T | null | undefined, stored: T | null): T | undefined =>
      given === null ? undefined : (given ?? stored ?? undefined);
    const revision = keep(body.revision, current.revision);
    const merged: z.infer<typeof GitRepoBody> = {
      name,
      url: body.url ?? current.url,
      // Unpinning a GitRepo that had only a revision follows main, as a new one would.
      branch: body.branch ?? current.branch ?? undefined,
      revision,
      paths: body.paths ?? current.paths,
      pollingInterval: body.pollingInterval ?? formatDuration(current.pollingIntervalMs),
      targets: body.targets ?? current.targets,
      auth: keep(body.auth, current.credentials?.reveal() ?? null),
      webhookSecret: keep(body.webhookSecret, current.webhookSecret?.reveal() ?? null),
      helmRepoCredentials: keep(
        body.helmRepoCredentials,
        current.helmCredentials?.reveal() ?? null,
      ),
      helmAllowHttp: body.helmAllowHttp ?? current.helmAllowHttp,
    };
    const repo = await this.repos.replace(
      name,
      toGitRepoSpec(merged, this.config.fileUrlRoot),
      body.generation,
    );
    this.announce(name, GitRepoEventType.Changed);
    return this.view(repo);
  }

  /**
   * One page of GitRepos with their summaries: one query for the page's bundles and the fleet's
   * counts from the summary cache, however many GitRepos the page holds.
   */
  async list(page: PageRequest) {
    const result = await this.repos.list(page);
    const [bundles, counts] = await Promise.all([
      this.bundles.ofRepos(result.items.map((r) => r.name)),
      this.summaries.fleetCounts(),
    ]);
    return {
      ...result,
      items: result.items.map((r) => gitRepoView(r, bundles.get(r.name) ?? [], counts)),
    };
  }

  async get(name: string) {
    return this.view(await this.repos.get(name));
  }

  async delete(name: string): Promise<void> {
    await this.repos.delete(name);
    this.announce(name, GitRepoEventType.Deleted);
  }

  /** Asks the resolver to sync now. */
  async sync(name: string) {
    await this.repos.get(name);
    this.announce(name, GitRepoEventType.SyncRequested);
    return { name, syncRequestedAt: new Date().toISOString() };
  }

  /** The GitRepo's values sources (for helm.valuesFrom), with their keys and never their data. */
  async listValues(name: string) {
    await this.repos.get(name);
    return { items: (await this.repos.valuesSources(name)).map(valuesSourceView) };
  }

  /**
   * Stores a values source (a Secret's needs the admin role, a ConfigMap's the operator role)
   * and syncs the GitRepo, so bundles using it render anew.
   */
  async putValues(
    repo: string,
    path: ValuesSourcePath,
    body: z.infer<typeof ValuesSourceBody>,
    role?: Role,
  ) {
    const { kind, namespace, name } = parseValuesSourcePath(path);
    requireValuesRole(kind, role);
    const info = await this.repos.putValuesSource(repo, { kind, namespace, name, data: body.data });
    this.announce(repo, 'Changed');
    return valuesSourceView(info);
  }

  /** Deletes a values source; bundles still referring to it fail on the next sync. */
  async deleteValues(repo: string, path: ValuesSourcePath, role?: Role): Promise<void> {
    const { kind, namespace, name } = parseValuesSourcePath(path);
    requireValuesRole(kind, role);
    await this.repos.deleteValuesSource(repo, kind, namespace, name);
    this.announce(repo, 'Changed');
  }

  private announce(name: string, type: Parameters<typeof gitRepoEvent>[0]): void {
    publishJson(this.nc, this.subjects.event('gitrepo', name), gitRepoEvent(type, name));
  }

  private async view(r: GitRepo): Promise<GitRepoView> {
    const [bundles, counts] = await Promise.all([
      this.bundles.ofRepo(r.name),
      this.summaries.fleetCounts(),
    ]);
    return gitRepoView(r, bundles, counts);
  }
}

/** A GitRepo as the API shows it, its summary from the fleet's counts (`FleetSummaryCache`). */
function gitRepoView(r: GitRepo, bundles: Bundle[], counts: Cached<FleetCounts>): GitRepoView {
  const broken = bundles.filter((b) => b.error !== null);
  return {
    name: r.name,
    url: redactUrl(r.url),
    branch: r.branch,
    revision: r.revision,
    paths: r.paths,
    pollingInterval: formatDuration(r.pollingIntervalMs),
    targets: r.targets,
    auth: r.credentials ? ('token' in r.credentials.reveal() ? 'token' : 'basic') : null,
    webhookSecret: r.webhookSecret ? 'set' : null,
    helmRepoCredentials: helmCredentialsView(r),
    helmAllowHttp: r.helmAllowHttp,
    createdAt: r.createdAt.toISOString(),
    generation: r.generation,
    status: {
      commit: r.commit,
      lastSyncedAt: r.lastSyncedAt?.toISOString() ?? null,
      lastChangedAt: r.lastChangedAt?.toISOString() ?? null,
      error: r.error,
      warnings: gitRepoWarnings(r),
      bundles: bundles.map((b) => b.name),
      bundleErrors: broken.map((b) => ({
        bundle: b.name,
        commit: b.errorCommit,
        message: b.error,
      })),
      summary: summaryFrom(
        counts.value,
        bundles.map((b) => b.name),
        counts.computedAt,
      ),
    },
  };
}

/** The path parameters naming a values source: `secrets|configmaps`, namespace, name. */
export interface ValuesSourcePath {
  kind: string;
  namespace: string;
  name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks the path of a values source; 400 with the reason otherwise. */
export function parseValuesSourcePath(path: ValuesSourcePath): {
  kind: ValuesSourceKind;
  namespace: string;
  name: string;
} {
  const kinds: Record<string, ValuesSourceKind> = {
    secrets: ValuesSourceKind.Secret,
    configmaps: ValuesSourceKind.ConfigMap,
  };
  const kind = Object.hasOwn(kinds, path.kind) ? kinds[path.kind] : undefined;
  if (kind === undefined) {
    throw new InvalidInputError(
      `values source kind ${JSON.stringify(path.kind)}: use "secrets" (helm.valuesFrom secretKeyRef) or "configmaps" (configMapKeyRef)`,
    );
  }
  if (path.namespace.length > 63 || !DNS_LABEL.test(path.namespace)) {
    throw new InvalidInputError(
      `namespace ${JSON.stringify(path.namespace)} is not a Kubernetes namespace name (lower case letters, digits and "-", at most 63)`,
    );
  }
  if (path.name.length > 253 || !DNS_SUBDOMAIN.test(path.name)) {
    throw new InvalidInputError(
      `name ${JSON.stringify(path.name)} is not a Kubernetes object name (lower case letters, digits, "-" and ".", at most 253)`,
    );
  }
  return { kind, namespace: path.namespace, name: path.name };
}

/** A Secret's values are the admin's, like the GitRepo's other secrets; a ConfigMap's the operator's. */
function requireValuesRole(kind: ValuesSourceKind, role: Role | undefined): void {
  const needed = kind === ValuesSourceKind.Secret ? 'admin' : 'operator';
  if (role !== undefined && !roleSatisfies(role, needed)) {
    throw new ForbiddenException(
      `changing a ${kind} values source needs the ${needed} role (this token is ${role})`,
    );
  }
}

function valuesSourceView(info: ValuesSourceInfo) {
  return {
    kind: info.kind,
    namespace: info.namespace,
    name: info.name,
    keys: info.keys,
    updatedAt: info.updatedAt.toISOString(),
  };
}
