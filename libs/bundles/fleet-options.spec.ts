import { describe, expect, it } from 'vitest';
import {
  dependencyNames,
  deploymentOptionsOf,
  effectiveOptions,
  firstTargetCustomization,
  targetsOf,
} from './fleet-options.js';
import { parseFleetYaml } from './fleet-yaml.js';

const fleet = (text: string) => parseFleetYaml(text, 'apps/web/fleet.yaml');

describe('effectiveOptions (a targetCustomization merged as Fleet merges a BundleTarget)', () => {
  const BASE = `defaultNamespace: base-ns
kustomize: {dir: overlays/base}
yaml: {overlays: [common]}
helm:
  chart: chart
  releaseName: web
  values: {image: {repo: r, tag: "1"}, replicas: 1}
  valuesFiles: [values.yaml]
`;
  it.each([
    ['no customization: the fleet.yaml options', '{clusterName: x}', undefined, {}],
    [
      'namespace, defaultNamespace, kustomize.dir and yaml.overlays replace',
      '{clusterName: x, namespace: forced, defaultNamespace: other, kustomize: {dir: overlays/prod}, yaml: {overlays: [prod]}}',
      0,
      {
        namespace: 'forced',
        defaultNamespace: 'other',
        kustomize: { dir: 'overlays/prod' },
        yaml: { overlays: ['prod'] },
      },
    ],
    [
      'helm values deep-merge, valuesFiles append, other helm fields replace',
      '{clusterName: x, helm: {values: {image: {tag: "2"}}, valuesFiles: [prod.yaml], releaseName: web-prod}}',
      0,
      {
        helm: expect.objectContaining({
          chart: 'chart',
          releaseName: 'web-prod',
          values: { image: { repo: 'r', tag: '2' }, replicas: 1 },
          valuesFiles: ['values.yaml', 'prod.yaml'],
        }) as unknown,
      },
    ],
    [
      'a version on a customization picks another chart version',
      '{clusterName: x, helm: {repo: "https://c.example", chart: web, version: "2.x"}}',
      0,
      {
        helm: expect.objectContaining({
          repo: 'https://c.example',
          chart: 'web',
          version: '2.x',
        }) as unknown,
      },
    ],
  ])('%s', (_name, custom, index, expected) => {
    const f = fleet(`${BASE}targetCustomizations: [${custom}]\n`);
    const options = effectiveOptions(
      f,
      index === undefined ? undefined : f.targetCustomizations[index],
    );
    expect(options).toMatchObject({
      defaultNamespace: 'base-ns',
      kustomize: { dir: 'overlays/base' },
      ...expected,
    });
  });
});

describe('firstTargetCustomization', () => {
  const f = fleet(`targetCustomizations:
  - {clusterSelector: {matchLabels: {env: prod}}}
  - {clusterSelector: {}}
`);
  it.each([
    ['the first matching entry wins even when a later one matches too', { env: 'prod' }, 0],
    ['a later entry when the first does not match', { env: 'dev' }, 1],
  ])('%s', (_name, labels, expected) => {
    expect(firstTargetCustomization(f, { name: 'c', labels }, {})).toBe(expected);
  });
  it('no entry for a bundle without targetCustomizations', () => {
    expect(firstTargetCustomization(fleet(''), { name: 'c', labels: {} }, {})).toBeUndefined();
  });
});

describe('dependencyNames', () => {
  const siblings = [
    { name: 'demo/db', fleet: fleet('labels: {tier: data}\n') },
    { name: 'demo/cache', fleet: fleet('labels: {tier: data}\n') },
    { name: 'demo/web', fleet: fleet('labels: {tier: data}\n') },
    { name: 'demo/ui', fleet: fleet('labels: {tier: front}\n') },
  ];
  it.each([
    ['by name', 'dependsOn: [{name: demo/base}]\n', ['demo/base']],
    [
      'by selector over the bundles labels, never itself',
      'dependsOn: [{selector: {matchLabels: {tier: data}}}]\n',
      ['demo/cache', 'demo/db'],
    ],
    [
      'both, without duplicates',
      'dependsOn: [{name: demo/db}, {selector: {matchExpressions: [{key: tier, operator: In, values: [data, front]}]}}]\n',
      ['demo/cache', 'demo/db', 'demo/ui'],
    ],
    [
      'a selector matching nothing adds nothing',
      'dependsOn: [{selector: {matchLabels: {tier: x}}}]\n',
      [],
    ],
  ])('%s', (_name, text, expected) => {
    expect(dependencyNames({ name: 'demo/web', fleet: fleet(text) }, siblings)).toEqual(expected);
  });
});

describe('deploymentOptionsOf (what the agent gets)', () => {
  it.each([
    [
      'an empty fleet.yaml gives exactly the options bundles had before (same revision ids)',
      '',
      {
        defaultNamespace: undefined,
        correctDrift: false,
        keepResources: false,
        forceConflicts: false,
      },
    ],
    [
      'namespace is the agent default namespace (every object is in it anyway)',
      'namespace: forced\ndefaultNamespace: other\n',
      {
        defaultNamespace: 'forced',
        correctDrift: false,
        keepResources: false,
        forceConflicts: false,
      },
    ],
    [
      "correctDrift.force forces field ownership conflicts (server-side apply's force)",
      'correctDrift: {enabled: true, force: true}\n',
      {
        defaultNamespace: undefined,
        correctDrift: true,
        keepResources: false,
        forceConflicts: true,
      },
    ],
    [
      'namespace labels, deleteNamespace, comparePatches and ignored conditions travel along',
      `namespaceLabels: {team: a}
namespaceAnnotations: {n: b}
deleteNamespace: true
keepResources: true
diff: {comparePatches: [{kind: Deployment, jsonPointers: [/spec/replicas]}]}
ignore: {conditions: [{type: Progressing}]}
`,
      {
        defaultNamespace: undefined,
        correctDrift: false,
        keepResources: true,
        forceConflicts: false,
        namespaceLabels: { team: 'a' },
        namespaceAnnotations: { n: 'b' },
        deleteNamespace: true,
        comparePatches: [{ kind: 'Deployment', jsonPointers: ['/spec/replicas'] }],
        ignoreConditions: [{ type: 'Progressing' }],
      },
    ],
  ])('%s', (_name, text, expected) => {
    const f = fleet(text);
    expect(deploymentOptionsOf(effectiveOptions(f, undefined), f)).toEqual(expected);
  });
});

describe('targetsOf (Fleet overrideTargets)', () => {
  const repo = [{ clusterSelector: { matchLabels: { env: 'prod' } } }];
  it.each([
    ['without overrideTargets: the GitRepo targets', '', repo],
    ['a list replaces them', 'overrideTargets: [{clusterName: a}]\n', [{ clusterName: 'a' }]],
    ['an empty list does not (as in Fleet)', 'overrideTargets: []\n', repo],
    [
      "true: the fleet.yaml's targets replace them (Fleet's older form)",
      'overrideTargets: true\ntargets: [{clusterName: b}]\n',
      [{ clusterName: 'b' }],
    ],
    ['false: the GitRepo targets', 'overrideTargets: false\ntargets: [{clusterName: b}]\n', repo],
  ])('%s', (_name, text, expected) => {
    expect(targetsOf(fleet(text), repo)).toEqual(expected);
  });
});
