import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  packageChart,
  runHelm,
  selfSignedCertificate,
  startHelmRepo,
  startOciRegistry,
  type HelmRepo,
  type OciRegistry,
} from '../testing/index.js';
import { HelmChartFetcher } from './chart-fetcher.js';
import { sha256 } from './chart-cache.js';

const template = (name: string) => ({
  'templates/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  version: {{ .Chart.Version | quote }}\n`,
});

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'flotilla-fetch-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function newFetcher(options: { maxChartBytes?: number } = {}) {
  return new HelmChartFetcher({ cacheDir: join(work, `cache-${Math.random()}`), ...options });
}

describe('charts from an HTTP Helm repository (helm package + helm repo index)', () => {
  let repo: HelmRepo;
  const tgz = new Map<string, string>();
  beforeAll(async () => {
    repo = await startHelmRepo();
    for (const version of ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc.1']) {
      tgz.set(version, await repo.add({ name: 'web', version, files: template('web') }));
    }
  });
  afterAll(async () => {
    await repo.stop();
  });

  it.each([
    ['a caret range', '^1.0.0', '1.1.0'],
    ['an exact version', '1.0.0', '1.0.0'],
    ['no version: the newest stable one', undefined, '2.0.0'],
  ])(
    '%s resolves to the version Helm picks, unpacked, with the archive digest',
    async (_n, version, expected) => {
      const fetch = newFetcher().forSync({ credentials: {}, allowHttp: true });
      const chart = await fetch.pinned({
        kind: 'repo',
        repo: repo.url,
        chart: 'web',
        ...(version ? { version } : {}),
      });
      expect(chart.version).toBe(expected);
      expect(chart.name).toBe('web');
      expect(chart.digest).toBe(sha256(await readFile(tgz.get(expected) ?? '')));
      expect(await readFile(join(chart.dir, 'Chart.yaml'), 'utf8')).toContain(
        `version: ${expected}`,
      );
      expect(chart.from).toBe(`${repo.url}/web-${expected}.tgz`);
    },
  );

  it('a chart already in the cache is not downloaded again (the index names its digest)', async () => {
    const fetcher = newFetcher();
    await fetcher
      .forSync({ credentials: {}, allowHttp: true })
      .pinned({ kind: 'repo', repo: repo.url, chart: 'web', version: '1.0.0' });
    const before = repo.requests().length;
    await fetcher
      .forSync({ credentials: {}, allowHttp: true })
      .pinned({ kind: 'repo', repo: repo.url, chart: 'web', version: '1.0.0' });
    expect(repo.requests().slice(before)).toEqual(['GET /charts/index.yaml']);
  });

  it('a version that appears later is picked by the next sync', async () => {
    const fetcher = newFetcher();
    const source = { kind: 'repo', repo: repo.url, chart: 'web', version: '~1.1.0' } as const;
    const first = await fetcher.forSync({ credentials: {}, allowHttp: true }).pinned(source);
    expect(first.version).toBe('1.1.0');
    await repo.add({ name: 'web', version: '1.1.5', files: template('web') });
    const second = await fetcher.forSync({ credentials: {}, allowHttp: true }).pinned(source);
    expect(second.version).toBe('1.1.5');
    expect(second.digest).not.toBe(first.digest);
  });

  it.each<
    [string, Record<string, unknown>, { allowHttp?: boolean; maxChartBytes?: number }, RegExp]
  >([
    [
      'plain http without the GitRepo allowing it',
      { version: '1.0.0' },
      { allowHttp: false },
      /plain http is not allowed for this GitRepo/,
    ],
    [
      'a version that does not exist',
      { version: '^3.0.0' },
      {},
      /no version "\^3.0.0" \(available: 2.1.0-rc.1, 2.0.0, 1.1.5, 1.1.0, 1.0.0\)/,
    ],
    ['a chart the repository does not have', { chart: 'api' }, {}, /has no chart "api"/],
    [
      'a chart larger than the limit',
      { version: '1.0.0' },
      { maxChartBytes: 100 },
      /larger than the limit of 100 bytes/,
    ],
  ])('refuses %s with a clear message', async (_n, fields, opts, message) => {
    const fetch = newFetcher({ maxChartBytes: opts.maxChartBytes }).forSync({
      credentials: {},
      allowHttp: opts.allowHttp ?? true,
    });
    await expect(
      fetch({ kind: 'repo', repo: repo.url, chart: 'web', ...fields } as never, 'demo/web'),
    ).rejects.toThrow(message);
  });

  it('an archive that does not match the digest in index.yaml is refused', async () => {
    const other = await packageChart(
      { name: 'web', version: '1.0.0', files: { 'templates/x.yaml': 'kind: X\n' } },
      work,
      join(work, 'other'),
    );
    await repo.add({ name: 'web', version: '0.9.0', files: template('web') });
    await repo.overwrite('web-0.9.0.tgz', await readFile(other));
    const fetch = newFetcher().forSync({ credentials: {}, allowHttp: true });
    await expect(
      fetch({ kind: 'repo', repo: repo.url, chart: 'web', version: '0.9.0' }, 'demo/web'),
    ).rejects.toThrow(
      /demo\/web: cannot fetch chart web 0.9.0 from .*: .*the archive's sha256 is [0-9a-f]{64}, the repository index says [0-9a-f]{64}/,
    );
  });

  it("a fetched chart whose values schema loads from the hub's disk is refused, like a chart in Git", async () => {
    await repo.add({
      name: 'sneaky',
      version: '1.0.0',
      files: {
        ...template('sneaky'),
        'values.schema.json': JSON.stringify({ $ref: 'file:///etc/passwd' }),
      },
    });
    const fetch = newFetcher().forSync({ credentials: {}, allowHttp: true });
    await expect(
      fetch({ kind: 'repo', repo: repo.url, chart: 'sneaky' }, 'demo/sneaky'),
    ).rejects.toThrow(
      /demo\/sneaky: cannot fetch chart sneaky from .*: chart sneaky 1.0.0: values.schema.json: \$ref "file:\/\/\/etc\/passwd" is not a local reference/,
    );
  });

  it('a .tgz URL is fetched as is', async () => {
    const chart = await newFetcher()
      .forSync({ credentials: {}, allowHttp: true })
      .pinned({ kind: 'url', url: `${repo.url}/web-1.1.0.tgz` });
    expect(chart).toMatchObject({
      name: 'web',
      version: '1.1.0',
      digest: sha256(await readFile(tgz.get('1.1.0') ?? '')),
    });
  });
});

describe('a Helm repository behind basic auth', () => {
  let repo: HelmRepo;
  beforeAll(async () => {
    repo = await startHelmRepo({ auth: { username: 'ci', password: 's3cret' } });
    await repo.add({ name: 'web', version: '1.0.0', files: template('web') });
  });
  afterAll(async () => {
    await repo.stop();
  });

  it('is read with the credential whose prefix matches, and refused without one', async () => {
    const source = { kind: 'repo', repo: repo.url, chart: 'web' } as const;
    await expect(
      newFetcher().forSync({ credentials: {}, allowHttp: true })(source, 'demo/web'),
    ).rejects.toThrow(/HTTP 401 \(check helmRepoCredentials on the GitRepo\)/);
    const wrongPrefix = { 'http://127.0.0.1:1/charts': { username: 'ci', password: 's3cret' } };
    await expect(
      newFetcher().forSync({ credentials: wrongPrefix, allowHttp: true })(source, 'demo/web'),
    ).rejects.toThrow(/401/);
    const credentials = { [repo.url]: { username: 'ci', password: 's3cret' } };
    const chart = await newFetcher().forSync({ credentials, allowHttp: true }).pinned(source);
    expect(chart.version).toBe('1.0.0');
  });

  it('never puts the password in an error message', async () => {
    const credentials = { [repo.url]: { username: 'ci', password: 'wrong-password' } };
    const message = await newFetcher()
      .forSync({ credentials, allowHttp: true })(
        { kind: 'repo', repo: repo.url, chart: 'web' },
        'demo/web',
      )
      .then(
        () => 'fetched',
        (err: unknown) => (err as Error).message,
      );
    expect(message).toMatch(/401/);
    expect(message).not.toContain('wrong-password');
  });
});

describe('a Helm repository over https with a private CA', () => {
  let repo: HelmRepo;
  let cert: string;
  beforeAll(async () => {
    const tls = await selfSignedCertificate(work);
    cert = tls.cert;
    repo = await startHelmRepo({ tls });
    await repo.add({ name: 'web', version: '1.0.0', files: template('web') });
  });
  afterAll(async () => {
    await repo.stop();
  });

  it('is refused until its CA is given as caBundle, then read over https only', async () => {
    const source = { kind: 'repo', repo: repo.url, chart: 'web' } as const;
    await expect(
      newFetcher().forSync({ credentials: {}, allowHttp: false })(source, 'demo/web'),
    ).rejects.toThrow(
      /certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\); add its CA as caBundle in helmRepoCredentials/,
    );
    const credentials = { [repo.url]: { caBundle: cert } };
    const chart = await newFetcher().forSync({ credentials, allowHttp: false }).pinned(source);
    expect(chart.version).toBe('1.0.0');
  });
});

describe.each(['none', 'basic', 'token'] as const)(
  'charts from an OCI registry (auth: %s)',
  (kind) => {
    let registry: OciRegistry;
    const home = () => join(work, `helm-home-${kind}`);
    const credentials = () =>
      kind === 'none'
        ? {}
        : { [`oci://${registry.host}/charts`]: { username: 'robot', password: 'pw' } };
    const tgz = new Map<string, string>();
    beforeAll(async () => {
      registry = await startOciRegistry(
        kind === 'none' ? { kind } : { kind, username: 'robot', password: 'pw' },
      );
      const login = kind === 'none' ? [] : ['--username', 'robot', '--password', 'pw'];
      for (const version of ['0.1.0', '0.2.0', '1.0.0+build.1']) {
        const file = await packageChart(
          { name: 'api', version, files: template('api') },
          work,
          join(work, `oci-${kind}`),
        );
        tgz.set(version, file);
        // the real helm push: proves the test registry speaks the protocol helm uses
        await runHelm(
          ['push', file, `oci://${registry.host}/charts`, '--plain-http', ...login],
          home(),
        );
      }
    });
    afterAll(async () => {
      await registry.stop();
    });

    it('helm pull gets back what helm push stored', async () => {
      const dest = join(work, `pulled-${kind}`);
      await mkdir(dest, { recursive: true });
      const login = kind === 'none' ? [] : ['--username', 'robot', '--password', 'pw'];
      await runHelm(
        [
          'pull',
          `oci://${registry.host}/charts/api`,
          '--version',
          '0.2.0',
          '--plain-http',
          '--destination',
          dest,
          ...login,
        ],
        home(),
      );
      expect(sha256(await readFile(join(dest, 'api-0.2.0.tgz')))).toBe(
        sha256(await readFile(tgz.get('0.2.0') ?? '')),
      );
      expect(registry.tags('charts/api')).toEqual(['0.1.0', '0.2.0', '1.0.0_build.1']);
    });

    it.each([
      ['a range over the tags', '0.x', '0.2.0'],
      ['a caret range on 0.x keeps the minor, as in Helm', '^0.1.0', '0.1.0'],
      ['an exact version', '0.1.0', '0.1.0'],
      ['no version: the newest (build metadata as _ in the tag)', undefined, '1.0.0+build.1'],
    ])('%s', async (_n, version, expected) => {
      const chart = await newFetcher()
        .forSync({ credentials: credentials(), allowHttp: true })
        .pinned({
          kind: 'oci',
          ref: `oci://${registry.host}/charts/api`,
          ...(version ? { version } : {}),
        });
      expect(chart.version).toBe(expected);
      expect(chart.digest).toBe(sha256(await readFile(tgz.get(expected) ?? '')));
      expect(await readFile(join(chart.dir, 'templates', 'cm.yaml'), 'utf8')).toContain(
        'name: api',
      );
    });

    it('a tag that does not exist is a clear error', async () => {
      const fetch = newFetcher().forSync({ credentials: credentials(), allowHttp: true });
      await expect(
        fetch(
          { kind: 'oci', ref: `oci://${registry.host}/charts/api`, version: '9.9.9' },
          'demo/api',
        ),
      ).rejects.toThrow(
        /demo\/api: cannot fetch chart oci:\/\/.*\/charts\/api 9.9.9: .*no tag "9.9.9"/,
      );
    });

    // A registry without authentication has nothing to refuse: the case exists only with auth.
    if (kind !== 'none') {
      it('without credentials the registry refuses, and the message says where to put them', async () => {
        const fetch = newFetcher().forSync({ credentials: {}, allowHttp: true });
        await expect(
          fetch(
            { kind: 'oci', ref: `oci://${registry.host}/charts/api`, version: '0.1.0' },
            'demo/api',
          ),
        ).rejects.toThrow(/HTTP 401 \(check helmRepoCredentials on the GitRepo\)/);
      });
    }
  },
);
