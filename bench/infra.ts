// Scratch infrastructure of one benchmark run: its own database, NATS subject prefix and Git
// repository, all removed at the end.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { statusStreamName } from '../libs/nats/index.js';

const execFileAsync = promisify(execFile);

/** PostgreSQL server to create the scratch database on: DATABASE_URL or the local default. */
export function adminDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** NATS server with JetStream: NATS_URL or the local default. */
export function benchNatsUrl(): string {
  return process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
}

/** A unique NATS subject prefix for this run, e.g. `bench.x1a2b3c`. */
export function benchSubjectPrefix(): string {
  return `bench.x${randomBytes(3).toString('hex')}`;
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database `flotilla_bench_<random>`; `drop()` removes it. */
export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const admin = adminDatabaseUrl();
  const name = `flotilla_bench_${randomBytes(4).toString('hex')}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Removes the hub's JetStream status stream of this run from the shared NATS server. */
export async function deleteStatusStream(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(statusStreamName(prefix)).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

// Git must not read the machine's configuration (signing, hooks, templates).
const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
};
const identity = [
  '-c',
  'user.name=Flotilla Bench',
  '-c',
  'user.email=bench@flotilla.invalid',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'init.defaultBranch=main',
];

/**
 * A local Git repository (read in place by the hub through a `file://` URL) holding `bundles`
 * plain-YAML bundles under `apps/`: each a ConfigMap and a Deployment that a simulated cluster
 * reports Ready at once.
 */
export class BenchRepo {
  private constructor(
    readonly dir: string,
    readonly bundles: number,
  ) {}

  static async create(bundles: number): Promise<BenchRepo> {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-git-'));
    const repo = new BenchRepo(dir, bundles);
    await repo.git(['init', '-q']);
    return repo;
  }

  get url(): string {
    return `file://${this.dir}`;
  }

  /** Writes every bundle with `version` in its ConfigMap and commits; returns the commit sha. */
  async commit(version: string): Promise<string> {
    for (let i = 0; i < this.bundles; i++) {
      const name = bundleDir(i);
      const dir = join(this.dir, 'apps', name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'configmap.yaml'), configMap(name, version));
      await writeFile(join(dir, 'deployment.yaml'), deployment(name));
    }
    await this.git(['add', '-A']);
    await this.git(['commit', '-q', '-m', `bench ${version}`]);
    return this.git(['rev-parse', 'HEAD']);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private async git(args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('git', [...identity, ...args], {
      cwd: this.dir,
      env: gitEnv,
    });
    return stdout.trim();
  }
}

export function bundleDir(i: number): string {
  return `b${String(i).padStart(4, '0')}`;
}

function configMap(name: string, version: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
data:
  version: "${version}"
`;
}

function deployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations:
    sim.flotilla.dev/ready-after: 0s
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers: [{name: ${name}, image: nginx}]
`;
}
