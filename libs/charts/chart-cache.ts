// The hub's chart cache: archives unpacked once under <dir>/sha256/<hex>/, keyed by the
// archive's digest, so a chart version already fetched is never downloaded again.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { tarFiles } from '../bundles/confine.js';
import { ChartFetchError } from './errors.js';

/** An unpacked chart in the cache. */
export interface CachedChart {
  /** The chart directory (its Chart.yaml at the top). */
  dir: string;
  /** `name` and `version` of its Chart.yaml. */
  name: string;
  version: string;
  /** sha256 (hex) of the archive. */
  digest: string;
  /** The chart's files, relative to `dir`, sorted. */
  files: string[];
}

/** sha256 (hex) of bytes. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The files of a chart archive, with the top directory (`<chart>/`) stripped; throws a
 * `ChartFetchError` for an archive that is not gzip/tar, unpacks to more than `maxBytes`, holds
 * paths leaving it, or has no Chart.yaml at the top.
 */
export function unpackChart(
  archive: Uint8Array,
  maxBytes: number,
  what: string,
): Map<string, Uint8Array> {
  let entries: [string, Uint8Array][];
  try {
    entries = tarFiles(gunzipSync(archive, { maxOutputLength: maxBytes }));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ChartFetchError(
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `${what}: unpacks to more than the limit of ${maxBytes} bytes`
        : `${what}: not a chart archive (.tgz): ${(err as Error).message}`,
    );
  }
  const files = new Map<string, Uint8Array>();
  let top: string | undefined;
  for (const [raw, content] of entries) {
    const path = posix.normalize(raw.replace(/^\.\//, ''));
    const slash = path.indexOf('/');
    const first = slash < 0 ? path : path.slice(0, slash);
    const rest = slash < 0 ? '' : path.slice(slash + 1);
    if (
      path.startsWith('/') ||
      path.startsWith('../') ||
      path === '..' ||
      rest === '' ||
      rest.split('/').includes('..')
    ) {
      throw new ChartFetchError(
        `${what}: archive entry ${JSON.stringify(raw)} is not inside the chart directory`,
      );
    }
    if (top !== undefined && first !== top) {
      throw new ChartFetchError(
        `${what}: archive holds more than one top directory (${top}, ${first})`,
      );
    }
    top = first;
    files.set(rest, content);
  }
  if (!files.has('Chart.yaml')) {
    throw new ChartFetchError(`${what}: archive has no Chart.yaml in its top directory`);
  }
  return files;
}

function chartMeta(chartYaml: Uint8Array, what: string): { name: string; version: string } {
  let value: unknown;
  try {
    value = parse(new TextDecoder().decode(chartYaml));
  } catch (err) {
    throw new ChartFetchError(
      `${what}: Chart.yaml is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const v = value as { name?: unknown; version?: unknown } | null;
  if (
    typeof v?.name !== 'string' ||
    (typeof v.version !== 'string' && typeof v.version !== 'number')
  ) {
    throw new ChartFetchError(`${what}: Chart.yaml has no name and version`);
  }
  return { name: v.name, version: String(v.version) };
}

/** Archives unpacked on disk by digest; safe with concurrent writers (atomic renames). */
export class ChartCache {
  constructor(
    private readonly dir: string,
    /** Largest unpacked size of a chart. */
    private readonly maxUnpackedBytes: number,
  ) {}

  private entryDir(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.dir, 'sha256', digest);
  }

  /** The cached chart of archive digest `digest`, or undefined. */
  async get(digest: string): Promise<CachedChart | undefined> {
    const base = this.entryDir(digest);
    try {
      const meta = JSON.parse(await readFile(join(base, 'meta.json'), 'utf8')) as {
        name: string;
        version: string;
        files: string[];
      };
      if (!(await stat(join(base, 'chart', 'Chart.yaml'))).isFile()) return undefined;
      const { name, version, files } = meta;
      return { dir: join(base, 'chart'), name, version, digest, files };
    } catch {
      return undefined;
    }
  }

  /**
   * Unpacks `archive` (whose digest the caller has checked) into the cache and returns it;
   * `what` names it in errors.
   */
  async put(archive: Uint8Array, what: string): Promise<CachedChart> {
    const digest = sha256(archive);
    const existing = await this.get(digest);
    if (existing !== undefined) return existing;
    const files = unpackChart(archive, this.maxUnpackedBytes, what);
    const meta = {
      ...chartMeta(files.get('Chart.yaml') ?? new Uint8Array(), what),
      files: [...files.keys()].sort(),
    };
    const base = this.entryDir(digest);
    const temp = `${base}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      for (const [path, content] of files) {
        const target = join(temp, 'chart', path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content, { flag: 'wx' });
      }
      await writeFile(join(temp, 'meta.json'), JSON.stringify(meta));
      await mkdir(dirname(base), { recursive: true });
      await rename(temp, base).catch((err: NodeJS.ErrnoException) => {
        // Another fetch of the same archive won the race: its copy is identical.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return { dir: join(base, 'chart'), ...meta, digest };
  }
}
