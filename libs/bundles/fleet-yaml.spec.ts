import { describe, expect, it } from 'vitest';
import { BundleError } from './errors.js';
import { parseDuration, parseFleetYaml } from './fleet-yaml.js';

const PATH = 'apps/web/fleet.yaml';

describe('parseFleetYaml', () => {
  it.each([
    [
      'an empty file gives all defaults',
      '',
      { targets: [], customizations: [], substitute: false },
    ],
    [
      'the DESIGN.md example',
      `defaultNamespace: web
targets:
  - clusterSelector: {matchLabels: {env: prod}}
  - clusterGroup: canaries
customizations:
  - name: eu
    clusterSelector: {matchExpressions: [{key: region, operator: In, values: [eu]}]}
    kustomize: {dir: overlays/eu}
    helm: {values: {replicas: 3}}
    patches:
      - target: {kind: Deployment, name: web}
        merge: {spec: {replicas: 2}}
      - operations: [{op: add, path: /metadata/labels/x, value: y}, {op: remove, path: /a}]
substitute: true
dependsOn: [{name: base}]
correctDrift: true
rolloutStrategy:
  stages:
    - {name: canary, clusterSelector: {matchLabels: {ring: canary}}, maxUnavailable: 1, bakeTime: 60s}
    - {name: rest, maxUnavailable: 25%, requireApproval: true}
  autoPartitionSize: 25%
  maxFailures: 0
  progressDeadline: 10m
  onFailure: rollback
`,
      {
        defaultNamespace: 'web',
        substitute: true,
        correctDrift: true,
        keepResources: false,
        dependsOn: [{ name: 'base' }],
        rolloutStrategy: expect.objectContaining({
          onFailure: 'rollback',
          maxFailures: 0,
        }) as unknown,
      },
    ],
    [
      'helm options',
      'helm: {chart: chart, releaseName: web, values: {a: {b: 1}}, valuesFiles: [values-prod.yaml]}\n',
      {
        helm: {
          chart: 'chart',
          releaseName: 'web',
          values: { a: { b: 1 } },
          valuesFiles: ['values-prod.yaml'],
        },
      },
    ],
    [
      'a target may combine a selector and a name',
      'targets: [{clusterSelector: {}, clusterName: a}]\n',
      {},
    ],
    [
      'onFailure defaults to pause',
      'rolloutStrategy: {}\n',
      { rolloutStrategy: { onFailure: 'pause' } },
    ],
  ])('accepts %s', (_name, text, expected) => {
    expect(parseFleetYaml(text, PATH)).toMatchObject(expected);
  });

  it.each([
    [
      'unknown top-level key',
      'defaultNamepsace: web\n',
      'apps/web/fleet.yaml: defaultNamepsace: unknown field',
    ],
    [
      'wrong type',
      'substitute: "yes"\n',
      'substitute: Invalid input: expected boolean, received string',
    ],
    [
      'bad selector in a customization',
      'customizations:\n  - name: eu\n    clusterSelector: {matchExpressions: [{key: r, operator: Foo}]}\n',
      'fleet.yaml: customizations[0].clusterSelector: invalid label selector: matchExpressions[0].operator: must be one of',
    ],
    [
      'unknown key in a customization',
      'customizations: [{name: a, clusterName: x, helmm: {}}]\n',
      'customizations[0].helmm: unknown field',
    ],
    [
      'customization without name',
      'customizations: [{clusterName: x}]\n',
      'customizations[0].name: is required',
    ],
    [
      'customization selecting nothing',
      'customizations: [{name: a}]\n',
      'customizations[0]: needs clusterSelector, clusterGroup or clusterName',
    ],
    [
      'duplicate customization names',
      'customizations: [{name: a, clusterName: x}, {name: a, clusterName: y}]\n',
      'customizations[1].name: duplicate customization name "a"',
    ],
    [
      'target without selection',
      'targets: [{}]\n',
      'targets[0]: needs clusterSelector, clusterGroup or clusterName',
    ],
    [
      'targets not a list',
      'targets: {clusterGroup: a}\n',
      'targets: Invalid input: expected array',
    ],
    [
      'patch with both merge and operations',
      'customizations: [{name: a, clusterName: x, patches: [{merge: {a: 1}, operations: [{op: remove, path: /a}]}]}]\n',
      'customizations[0].patches[0]: needs exactly one of merge or operations',
    ],
    [
      'RFC 6902 add without value',
      'customizations: [{name: a, clusterName: x, patches: [{operations: [{op: add, path: /a}]}]}]\n',
      'customizations[0].patches[0].operations[0].value: is required for op add',
    ],
    [
      'RFC 6902 path that is not a pointer',
      'customizations: [{name: a, clusterName: x, patches: [{operations: [{op: remove, path: a}]}]}]\n',
      'operations[0].path: must be a JSON pointer',
    ],
    [
      'unknown patch target key',
      'customizations: [{name: a, clusterName: x, patches: [{target: {knd: X}, merge: {}}]}]\n',
      'patches[0].target.knd: unknown field',
    ],
    [
      'maxUnavailable over 100%',
      'rolloutStrategy: {stages: [{name: a, maxUnavailable: 120%}]}\n',
      'rolloutStrategy.stages[0].maxUnavailable: must be a non-negative integer or a percentage',
    ],
    [
      'negative maxFailures',
      'rolloutStrategy: {maxFailures: -1}\n',
      'rolloutStrategy.maxFailures: must be a non-negative integer',
    ],
    [
      'bad bakeTime',
      'rolloutStrategy: {stages: [{name: a, bakeTime: soon}]}\n',
      'rolloutStrategy.stages[0].bakeTime: must be a duration',
    ],
    [
      'bad onFailure',
      'rolloutStrategy: {onFailure: stop}\n',
      'rolloutStrategy.onFailure: Invalid option',
    ],
    [
      'stage with two selections',
      'rolloutStrategy: {stages: [{name: a, clusterGroup: g, clusters: [x]}]}\n',
      'rolloutStrategy.stages[0]: takes one of clusterSelector, clusterGroup or clusters',
    ],
    [
      'duplicate stage names',
      'rolloutStrategy: {stages: [{name: a}, {name: a}]}\n',
      'rolloutStrategy.stages[1].name: duplicate stage name',
    ],
    [
      'YAML error with its line',
      'defaultNamespace: web\ndefaultNamespace: api\n',
      'apps/web/fleet.yaml (line 2): invalid YAML: Map keys must be unique',
    ],
    ['a list instead of a mapping', '- a\n', 'apps/web/fleet.yaml: must be a mapping of fields'],
    [
      'several problems at once',
      'substitute: 1\ncorrectDrift: 2\n',
      'substitute: Invalid input: expected boolean, received number; correctDrift',
    ],
  ])('rejects %s', (_name, text, message) => {
    let caught: unknown;
    try {
      parseFleetYaml(text, PATH, 'demo/web');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BundleError);
    const err = caught as BundleError;
    expect(err.name).toBe('BundleError');
    expect(err.path).toBe(PATH);
    expect(err.bundle).toBe('demo/web');
    expect(err.message).toContain(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['60s', 60_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it('rejects junk', () => {
    expect(() => parseDuration('10 minutes')).toThrow('invalid duration');
  });
});
