import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { projectRoot } from '../../libs/contracts/index.js';
import type { KubeObject } from '../../libs/manifests/index.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startSimulatedAgent } from '../support/agents.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { type RunningHub, runHub } from '../../services/hub/hub.js';
import { loadHubConfig } from '../../libs/config/config.js';
import { appDeployment, ringClusters, ringGitRepo } from '../support/rollout-fixtures.js';

// The web dashboard in Debian's Chromium, driven by Playwright, against a real hub (PostgreSQL,
// NATS) with simulated clusters. Screenshots of the main pages go to a temporary directory, or to
// FLOTILLA_SCREENSHOTS_DIR when set (`npm run screenshots` refreshes the README's docs/screenshots/).

const CHROMIUM = '/usr/bin/chromium';
const screenshotsDir = process.env.FLOTILLA_SCREENSHOTS_DIR;
const screenshots =
  screenshotsDir === undefined
    ? mkdtempSync(join(tmpdir(), 'flotilla-screenshots-'))
    : resolve(projectRoot(), screenshotsDir);
/** The canary waits for a promote after it baked; a failure rolls back. */
const strategy = `rolloutStrategy:
  stages:
    - name: canary
      clusterSelector: {matchLabels: {ring: canary}}
      bakeTime: 2s
      requireApproval: true
    - name: rest
      maxUnavailable: 2
  onFailure: rollback
`;
const app = (version: string, outcome = 'ready') =>
  appDeployment(version, { outcome, readyAfter: '300ms' });

let hub: TestHub;
/** The hub started again on the same port, database and subjects by the last test. */
let restarted: RunningHub | undefined;
let git: GitServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let operatorToken: string;
let viewerToken: string;
const agents: RunningAgent[] = [];
/** Each cluster's simulated driver, for edits made behind the agent's back. */
const drivers = new Map<string, SimulatedCluster>();

async function latestRollout(): Promise<any> {
  const { body } = await hub
    .api()
    .get('/api/v1/rollouts')
    .query({ bundle: 'ring/app' })
    .expect(200);
  return body.items[0];
}

/** Opens a fresh tab (its own session storage) and signs in with `token`. */
async function signIn(token: string): Promise<Page> {
  const tab = await context.newPage();
  await tab.goto(hub.httpUrl);
  await tab.getByLabel('API token').fill(token);
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.getByRole('navigation', { name: 'Main' }).first().waitFor();
  return tab;
}

/** The text of every element the locator matches, once it shows `text` (waits for it). */
async function sees(locator: Locator, text: string): Promise<void> {
  await expect
    .poll(async () => (await locator.allInnerTexts()).join('\n'), { timeout: 60_000 })
    .toContain(text);
}

/** Waits until the locator's single element has exactly `text`. */
async function reads(locator: Locator, text: string): Promise<void> {
  await expect
    .poll(async () => (await locator.allInnerTexts()).join('\n').trim(), { timeout: 60_000 })
    .toBe(text);
}

async function shot(tab: Page, name: string): Promise<void> {
  await tab.screenshot({ path: join(screenshots, `${name}.png`), fullPage: false });
}

/** Clicks an action button, fills the reason and confirms in the dialog. */
async function act(tab: Page, action: string, reason: string): Promise<void> {
  await tab
    .getByRole('group', { name: 'Rollout actions' })
    .getByRole('button', { name: action })
    .click();
  const dialog = tab.getByRole('dialog');
  await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.getByRole('button', { name: `Confirm ${action.toLowerCase()}` }).click();
  await dialog.waitFor({ state: 'hidden' });
}

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  operatorToken = await hub.issueApiToken('dashboard-operator', 'operator');
  viewerToken = await hub.issueApiToken('dashboard-viewer', 'viewer');
  git = await startGitServer();
  for (const name of ringClusters) {
    const labels = name === 'c1' ? { ring: 'canary' } : { ring: 'main' };
    const driver = new SimulatedCluster();
    drivers.set(name, driver);
    agents.push(await startSimulatedAgent(hub, name, labels, driver));
  }
  userDataDir = mkdtempSync(join(tmpdir(), 'flotilla-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(60_000);
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (screenshotsDir === undefined) rmSync(screenshots, { recursive: true, force: true });
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  await restarted?.close();
  await hub?.stop();
});

describe('the web dashboard, in a browser', () => {
  it('is served at / (client routes too), never in place of the API', async () => {
    const index = await hub
      .api(null)
      .get('/rollouts/some-id')
      .set('accept', 'text/html')
      .expect(200);
    expect(index.text).toContain('<div id="root">');
    const api = await hub.api(null).get('/api/v1/nothing-here').set('accept', 'text/html');
    expect(api.status).toBe(404);
    expect(api.body).toMatchObject({ statusCode: 404 });
  });

  it('signs in with an API token and shows the fleet; the token never appears in a URL', async () => {
    const repo = await git.createRepo('ring', {
      'app/fleet.yaml': strategy,
      'app/app.yaml': app('1'),
    });
    await hub.api().post('/api/v1/gitrepos').send(ringGitRepo(repo.url)).expect(201);

    const wrong = await context.newPage();
    await wrong.goto(hub.httpUrl);
    await wrong.getByLabel('API token').fill('flt_not-a-token');
    await wrong.getByRole('button', { name: 'Sign in' }).click();
    await sees(wrong.getByRole('alert'), 'not valid');
    await wrong.close();

    page = await signIn(operatorToken);
    await sees(page.getByTestId('cluster-counts'), '5 total');
    await sees(page.getByTestId('cluster-counts'), 'Online 5');
    await reads(page.getByTestId('live'), 'Live');
    expect(page.url()).not.toContain(operatorToken);
    expect(await page.evaluate("sessionStorage.getItem('flotilla.token')")).toBe(operatorToken);
    // The matrix: one row per cluster, the bundle's column filled in as clusters report.
    await sees(page.getByTestId('matrix-summary'), '5 clusters, 5 rows, 1 bundles');
    await shot(page, 'overview');
  });

  it('watches a staged rollout live: the canary bakes and waits; pause, resume and promote it', async () => {
    const first = await eventually('the first rollout', latestRollout, (r) => r !== undefined);
    await page.getByRole('link', { name: 'Rollouts', exact: true }).click();
    await page.getByRole('link', { name: 'ring/app' }).first().click();
    await page.waitForURL(new RegExp(`/rollouts/${first.id}$`));
    const canary = page.getByTestId('stage-canary');
    const rest = page.getByTestId('stage-rest');
    // Live, without a reload: the canary is released, bakes, then waits for a promote.
    await sees(canary, 'AwaitingApproval');
    await sees(canary, '1/1 clusters done');
    await sees(rest, '0/4 clusters done');
    await page.goto(`${hub.httpUrl}/rollouts/${first.id}`);
    await sees(canary, 'AwaitingApproval');
    await shot(page, 'rollout');

    await act(page, 'Pause', 'checking the canary dashboards');
    await sees(page.getByTestId('rollout-state'), 'Paused');
    await sees(page.getByTestId('audit'), 'checking the canary dashboards');
    await page
      .getByRole('group', { name: 'Rollout actions' })
      .getByRole('button', { name: 'Resume' })
      .waitFor();
    await act(page, 'Resume', 'dashboards look fine');
    await expect.poll(() => page.getByTestId('rollout-state').innerText()).not.toContain('Paused');
    await act(page, 'Promote', 'canary is healthy');
    await sees(rest, '4/4 clusters done');
    await sees(page.getByTestId('rollout-state'), 'Succeeded');
    await expect.poll(() => page.getByRole('group', { name: 'Rollout actions' }).count()).toBe(0);
    const audit = (await hub.api().get(`/api/v1/rollouts/${first.id}`).expect(200)).body.audit;
    expect(audit.map((a: any) => a.actor)).toContain('api:dashboard-operator');
  });

  it('shows a failing canary rolled back, with the reason, and the other clusters held', async () => {
    const head = await git.commit('ring', { 'app/app.yaml': app('2', 'fail') });
    await hub.api().post('/api/v1/gitrepos/ring/sync').expect(202);
    const failing = await eventually(
      'a rollout of the failing commit',
      latestRollout,
      (r) => r?.toCommit === head,
    );
    await page.getByRole('link', { name: 'Rollouts', exact: true }).click();
    await page.locator(`a[href="/rollouts/${failing.id}"]`).click();
    await sees(page.getByTestId('rollout-state'), 'RolledBack');
    await sees(page.getByTestId('stage-canary'), 'rolled back to commit');
    await sees(page.getByTestId('held'), 'RolledBack');
    await shot(page, 'rollout-rolled-back');
  });

  it('gives a viewer token every page read-only: no action buttons, and a 403 if it tries', async () => {
    const rollout = await latestRollout();
    const viewer = await signIn(viewerToken);
    await viewer.goto(`${hub.httpUrl}/rollouts/${rollout.id}`);
    // A new page load keeps the session (the tab's storage), not the URL.
    await sees(viewer.getByTestId('rollout-state'), 'RolledBack');
    await viewer.getByText('Read-only: your token has the viewer role.').first().waitFor();
    await expect
      .poll(() =>
        viewer.getByRole('button', { name: /Pause|Resume|Promote|Abort|Rollback/ }).count(),
      )
      .toBe(0);
    const status = await viewer.evaluate(async (id) => {
      const token = (globalThis as any).sessionStorage.getItem('flotilla.token');
      const res = await fetch(`/api/v1/rollouts/${id}/rollback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return res.status;
    }, rollout.id);
    expect(status).toBe(403);
    await viewer.getByRole('link', { name: 'GitRepos' }).click();
    await viewer.getByRole('heading', { name: 'ring' }).first().waitFor();
    await shot(viewer, 'gitrepos');
    await viewer.getByRole('link', { name: 'ring/app' }).first().click();
    await viewer.getByRole('heading', { name: 'Variants' }).first().waitFor();
    await shot(viewer, 'bundle');
    await viewer.getByRole('link', { name: 'c1' }).first().click();
    await viewer.getByRole('heading', { name: 'Cluster c1' }).first().waitFor();
    await viewer.getByRole('cell', { name: 'ring/app' }).first().waitFor();
    await shot(viewer, 'cluster');
    await viewer.close();
  });

  it('shows an out-of-band edit as drift on the cluster page, and drops it once put back', async () => {
    const driver = drivers.get('c2')!;
    const key = driver.liveKeys().find((k) => /\/Deployment\/[^/]+\/app$/.test(k))!;
    expect(key).toBeDefined();
    const replicas = (n: number) => (o: KubeObject) => {
      (o.spec as { replicas: number }).replicas = n;
    };
    await page.goto(`${hub.httpUrl}/clusters/c2`);
    await page.getByRole('heading', { name: 'Cluster c2' }).waitFor();
    await page.getByRole('cell', { name: 'ring/app' }).first().waitFor();
    expect(await page.getByTestId('drift').count()).toBe(0);

    driver.editLiveObject(key, replicas(3));
    const diff = page.getByRole('figure').filter({ hasText: 'Deployment' });
    await sees(page.getByTestId('drift'), 'Deployment');
    const pre = page.getByLabel(/Deployment .*app/);
    await sees(pre, '- spec.replicas: 1');
    await sees(pre, '+ spec.replicas: 3');
    await sees(diff, 'ring/app');
    await page.getByRole('heading', { name: 'Drift' }).waitFor();
    await page.getByRole('heading', { name: 'Drift' }).scrollIntoViewIfNeeded();
    await shot(page, 'cluster-drift');

    driver.editLiveObject(key, replicas(1));
    await expect.poll(() => page.getByTestId('drift').count(), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => page.getByRole('heading', { name: 'Drift' }).count()).toBe(0);
  });

  it('filters 1,000 clusters by a label selector, on the clusters page and in the matrix', async () => {
    const regions = ['eu', 'us', 'ap'];
    const names = Array.from({ length: 1000 }, (_, i) => `fleet-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(
        names.slice(i, i + 20).map((name, j) =>
          hub
            .api()
            .post('/api/v1/clusters')
            .send({
              name,
              labels: { region: regions[(i + j) % 3]!, tier: (i + j) % 10 === 0 ? 'gold' : 'std' },
            })
            .expect(201),
        ),
      );
    }
    // i % 3 == 0 and i % 10 == 0: i a multiple of 30 below 1000.
    const expected = names.filter((_, i) => i % 30 === 0).length;
    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    await reads(page.getByTestId('cluster-count'), '1005 clusters');
    await page.getByLabel('Label selector').fill('region=eu,tier in (gold)');
    await reads(page.getByTestId('cluster-count'), `${expected} clusters`);
    await sees(page.getByTestId('cluster-row').first(), 'fleet-0000');
    await page.getByLabel('Label selector').fill('region notin (eu,us),tier=std,!ring');
    await reads(page.getByTestId('cluster-count'), `${1000 - 334 - 333 - 33} clusters`);
    await page.getByLabel('Label selector').fill('region in (eu');
    await page.getByRole('alert').first().waitFor();
    await page.getByLabel('Label selector').fill('');
    await reads(page.getByTestId('cluster-count'), '1005 clusters');
    await shot(page, 'clusters');

    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByLabel('Label selector').fill('tier=gold');
    await page.getByLabel('Group by label').fill('region');
    await sees(page.getByTestId('matrix-summary'), '100 clusters, 3 rows');
    await page.getByLabel('Label selector').fill('');
    await page.getByLabel('Group by label').fill('');
    await page.getByLabel('Search').fill('fleet-09');
    await sees(page.getByTestId('matrix-summary'), '100 clusters, 100 rows');
  });

  it(
    'shows a lost live connection when the hub goes away, and recovers when it is back',
    { timeout: 240_000 },
    async () => {
      await page.getByRole('link', { name: 'Overview' }).click();
      await reads(page.getByTestId('live'), 'Live');
      await hub.close();
      await sees(page.getByTestId('live'), 'Connection lost');
      restarted = await runHub({
        config: loadHubConfig({ ...hub.env, PORT: new URL(hub.httpUrl).port }),
        logLevels: ['fatal', 'error'],
      });
      await reads(page.getByTestId('live'), 'Live');
      await sees(page.getByTestId('cluster-counts'), '1005 total');
    },
  );
});
