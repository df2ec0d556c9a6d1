import { describe, expect, it } from 'vitest';
import { BundleError } from './errors.js';
import { parseFleetYaml, RolloutStrategySchema } from './fleet-yaml.js';

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
        correctDrift: { enabled: true, force: false, keepFailHistory: false },
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
      'customizations[0]: needs clusterSelector, clusterGroup, clusterGroupSelector or clusterName',
    ],
    [
      'duplicate customization names',
      'customizations: [{name: a, clusterName: x}, {name: a, clusterName: y}]\n',
      'customizations[1].name: duplicate customization name "a"',
    ],
    [
      'target without selection',
      'targets: [{}]\n',
      'targets[0]: needs clusterSelector, clusterGroup, clusterGroupSelector or clusterName',
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
      'apps/web/fleet.yaml line 2: invalid YAML: Map keys must be unique',
    ],
    ['a list instead of a mapping', '- a\n', 'apps/web/fleet.yaml: must be a mapping of fields'],
    [
      'several problems at once',
      'substitute: 1\nkeepResources: 2\n',
      'keepResources: Invalid input: expected boolean, received number; substitute: Invalid input',
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

// Fleet's fleet.yaml, field by field, with the meaning its reference (ref-fleet-yaml) and its
// FleetYAML / BundleSpec / BundleDeploymentOptions types give them.
describe("parseFleetYaml: Fleet's fields", () => {
  it.each([
    [
      'defaultNamespace and namespace',
      'defaultNamespace: web\nnamespace: forced\n',
      { defaultNamespace: 'web', namespace: 'forced' },
    ],
    [
      'empty strings where Fleet allows them mean absent',
      'defaultNamespace: ""\nnamespace: ""\nserviceAccount: ""\nname: ""\nhelm: {chart: "", repo: "", version: "", releaseName: ""}\nkustomize: {dir: ""}\n',
      {
        defaultNamespace: undefined,
        namespace: undefined,
        helm: { chart: undefined },
        kustomize: { dir: undefined },
      },
    ],
    [
      'namespaceLabels and namespaceAnnotations',
      'namespaceLabels: {team: a}\nnamespaceAnnotations: {note: b}\n',
      { namespaceLabels: { team: 'a' }, namespaceAnnotations: { note: 'b' } },
    ],
    ['name and labels', 'name: web\nlabels: {tier: db}\n', { name: 'web', labels: { tier: 'db' } }],
    [
      'paused, keepResources, deleteNamespace, serviceAccount',
      'paused: true\nkeepResources: true\ndeleteNamespace: true\nserviceAccount: deployer\n',
      { paused: true, keepResources: true, deleteNamespace: true, serviceAccount: 'deployer' },
    ],
    [
      'ignore.conditions',
      'ignore: {conditions: [{type: Available, status: "False"}]}\n',
      { ignore: { conditions: [{ type: 'Available', status: 'False' }] } },
    ],
    [
      'overrideTargets (replacing the GitRepo targets)',
      'overrideTargets: [{clusterSelector: {matchLabels: {env: dev}}}, {clusterGroup: edge}]\n',
      {
        overrideTargets: [
          { clusterSelector: { matchLabels: { env: 'dev' } } },
          { clusterGroup: 'edge' },
        ],
      },
    ],
    [
      'dependsOn by name and by selector',
      'dependsOn: [{name: base}, {selector: {matchLabels: {tier: db}}}]\n',
      { dependsOn: [{ name: 'base' }, { selector: { matchLabels: { tier: 'db' } } }] },
    ],
    [
      'correctDrift as a boolean',
      'correctDrift: true\n',
      { correctDrift: { enabled: true, force: false, keepFailHistory: false } },
    ],
    [
      "correctDrift as Fleet's object",
      'correctDrift: {enabled: true, force: true, keepFailHistory: true}\n',
      { correctDrift: { enabled: true, force: true, keepFailHistory: true } },
    ],
    [
      'correctDrift absent is disabled',
      '',
      { correctDrift: { enabled: false, force: false, keepFailHistory: false } },
    ],
    [
      'diff.comparePatches',
      'diff:\n  comparePatches:\n    - {apiVersion: apps/v1, kind: Deployment, name: web, namespace: a, operations: [{op: remove, path: /spec/replicas}], jsonPointers: [/spec/template/metadata/annotations]}\n',
      {
        diff: {
          comparePatches: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              namespace: 'a',
              operations: [{ op: 'remove', path: '/spec/replicas' }],
              jsonPointers: ['/spec/template/metadata/annotations'],
            },
          ],
        },
      },
    ],
    ['yaml.overlays', 'yaml: {overlays: [prod, eu]}\n', { yaml: { overlays: ['prod', 'eu'] } }],
    [
      'helm from a repository with a version range and every install option',
      `helm:
  chart: nginx
  repo: https://charts.example.com
  version: ~1.2.0
  releaseName: web
  values: {replicas: 2}
  valuesFiles: [values.yaml]
  valuesFrom: [{secretKeyRef: {name: web-values, key: values.yaml}}, {configMapKeyRef: {name: cm, namespace: x}}]
  takeOwnership: true
  force: true
  atomic: true
  maxHistory: 5
  timeoutSeconds: 300
  waitForJobs: true
  disablePreProcess: true
  disableDNS: true
  skipSchemaValidation: true
  disableDependencyUpdate: true
`,
      {
        helm: {
          chart: 'nginx',
          repo: 'https://charts.example.com',
          version: '~1.2.0',
          releaseName: 'web',
          maxHistory: 5,
          timeoutSeconds: 300,
          disableDependencyUpdate: true,
        },
      },
    ],
    [
      'helm oci:// chart',
      'helm: {chart: oci://ghcr.io/o/web, version: 1.0.0}\n',
      { helm: { chart: 'oci://ghcr.io/o/web' } },
    ],
    [
      'helm .tgz chart URL',
      'helm: {chart: https://e.com/web-1.0.0.tgz}\n',
      { helm: { chart: 'https://e.com/web-1.0.0.tgz' } },
    ],
    [
      'helm and kustomize.dir together',
      'helm: {chart: chart}\nkustomize: {dir: post}\n',
      { helm: { chart: 'chart' }, kustomize: { dir: 'post' } },
    ],
    [
      'targetCustomizations with every selector and option',
      `targetCustomizations:
  - name: prod
    clusterSelector: {matchLabels: {env: prod}}
    clusterGroup: eu
    clusterGroupSelector: {}
    clusterName: eu-1
    namespace: prod-ns
    defaultNamespace: prod-default
    helm: {values: {replicas: 3}, valuesFiles: [prod.yaml], version: 1.2.3, chart: c, repo: https://c.example.com}
    kustomize: {dir: overlays/prod}
    yaml: {overlays: [prod]}
  - name: off
    clusterSelector: {matchLabels: {env: off}}
    doNotDeploy: true
  - clusterName: nameless
`,
      {
        targetCustomizations: [
          expect.objectContaining({
            name: 'prod',
            clusterName: 'eu-1',
            namespace: 'prod-ns',
            doNotDeploy: false,
            kustomize: { dir: 'overlays/prod' },
          }),
          expect.objectContaining({ name: 'off', doNotDeploy: true }),
          expect.objectContaining({ clusterName: 'nameless' }),
        ],
      },
    ],
    [
      "a targetCustomization's helm.version over the fleet.yaml's repository chart",
      'helm: {repo: "https://c.example", chart: web}\ntargetCustomizations: [{clusterName: a, helm: {version: 2.x}}]\n',
      { targetCustomizations: [expect.objectContaining({ helm: { version: '2.x' } })] },
    ],
    [
      'helm values with Go template text when disablePreProcess passes them on as text',
      'helm: {disablePreProcess: true, values: {name: "x-{{ .Release.Name }}"}}\n',
      { helm: { values: { name: 'x-{{ .Release.Name }}' } } },
    ],
    [
      "targets with options (Fleet's older form): they narrow and customize, after targetCustomizations",
      `targetCustomizations: [{name: first, clusterName: a, kustomize: {dir: overlays/a}}]
targets:
  - {name: dev, clusterSelector: {matchLabels: {env: dev}}, kustomize: {dir: overlays/dev}}
  - {name: any, clusterSelector: {}}
`,
      {
        targets: [
          { name: 'dev', clusterSelector: { matchLabels: { env: 'dev' } } },
          { name: 'any', clusterSelector: {} },
        ],
        targetCustomizations: [
          expect.objectContaining({ name: 'first', kustomize: { dir: 'overlays/a' } }),
          expect.objectContaining({ name: 'dev', kustomize: { dir: 'overlays/dev' } }),
        ],
      },
    ],
    [
      'a targetCustomization that selects nothing (matches no cluster, as in Fleet)',
      'targetCustomizations: [{name: nothing}]\n',
      { targetCustomizations: [expect.objectContaining({ name: 'nothing' })] },
    ],
    [
      "Fleet's rolloutStrategy becomes stages, unpartitioned clusters last",
      `rolloutStrategy:
  maxUnavailable: 10%
  maxUnavailablePartitions: 0
  autoPartitionSize: 25%
  partitions:
    - {name: canary, clusterSelector: {matchLabels: {ring: canary}}, maxUnavailable: 1}
    - {clusterGroup: eu}
    - {clusterName: us-1}
`,
      {
        rolloutStrategy: {
          maxUnavailable: '10%',
          autoPartitionSize: '25%',
          onFailure: 'pause',
          stages: [
            {
              name: 'canary',
              clusterSelector: { matchLabels: { ring: 'canary' } },
              maxUnavailable: 1,
              requireApproval: false,
            },
            { name: 'partition-2', clusterGroup: 'eu', requireApproval: false },
            { name: 'partition-3', clusters: ['us-1'], requireApproval: false },
            { name: 'rest', requireApproval: false },
          ],
        },
      },
    ],
  ])('accepts %s', (_name, text, expected) => {
    expect(parseFleetYaml(text, PATH)).toMatchObject(expected);
  });

  it('keeps Fleet-only fields out of the validated rollout strategy', () => {
    const fleet = parseFleetYaml(
      'rolloutStrategy: {maxUnavailablePartitions: 1, partitions: []}\n',
      PATH,
    );
    expect(fleet.rolloutStrategy).toEqual({ onFailure: 'pause', stages: [] });
  });

  it.each([
    [
      'imageScans, refused rather than ignored',
      'imageScans: [{image: nginx, tagName: t, policy: {semver: {range: "*"}}}]\n',
      'imageScans: is not supported',
    ],
    [
      'a misspelt top-level field, with the nearest one suggested',
      'targetCustomization: []\n',
      'targetCustomization: unknown field (did you mean targetCustomizations?)',
    ],
    [
      'a misspelt nested field, with the nearest one suggested',
      'helm: {releasName: web}\n',
      'helm.releasName: unknown field (did you mean releaseName?)',
    ],
    ['a field nothing resembles', 'zzzzzzzz: 1\n', 'zzzzzzzz: unknown field'],
    [
      'namespace that is no namespace name',
      'namespace: Web_App\n',
      'namespace: must be a namespace name',
    ],
    [
      'a release name Helm refuses',
      'helm: {releaseName: Web}\n',
      'helm.releaseName: must be a Helm release name',
    ],
    [
      'helm.repo without a chart name',
      'helm: {repo: https://c.example.com}\n',
      'helm.chart: is required with helm.repo',
    ],
    [
      'helm.version that is no version',
      'helm: {repo: https://c.example.com, chart: x, version: newest}\n',
      'helm.version: "newest" is neither',
    ],
    [
      'a go-getter chart',
      'helm: {chart: "git::https://github.com/o/r//chart"}\n',
      'helm.chart: "git::',
    ],
    [
      'valuesFrom with both references',
      'helm: {valuesFrom: [{secretKeyRef: {name: a}, configMapKeyRef: {name: b}}]}\n',
      'helm.valuesFrom[0]: needs exactly one of configMapKeyRef or secretKeyRef',
    ],
    [
      'dependsOn with neither name nor selector',
      'dependsOn: [{}]\n',
      'dependsOn[0]: needs name or selector',
    ],
    [
      'dependsOn acceptedStates other than Ready',
      'dependsOn: [{name: a, acceptedStates: [Ready, Modified]}]\n',
      'dependsOn[0].acceptedStates: only Ready is supported',
    ],
    [
      'comparePatches with a non-remove operation',
      'diff: {comparePatches: [{operations: [{op: add, path: /a}]}]}\n',
      'only "remove" operations',
    ],
    ['correctDrift with an unknown key', 'correctDrift: {enable: true}\n', 'correctDrift'],
    [
      'stages and partitions together',
      'rolloutStrategy: {stages: [{name: a}], partitions: [{name: b}]}\n',
      "rolloutStrategy.partitions: takes either Flotilla's stages or Fleet's partitions",
    ],
    [
      'a partition with two selections',
      'rolloutStrategy: {partitions: [{clusterName: a, clusterGroup: g}]}\n',
      'rolloutStrategy.partitions[0]: takes one of clusterName, clusterSelector or clusterGroup',
    ],
    [
      'targetCustomizations with a bad selector',
      'targetCustomizations: [{clusterSelector: {matchLabels: {"a b": c}}}]\n',
      'targetCustomizations[0].clusterSelector',
    ],
    [
      "a targetCustomization's helm.version over a chart of the repository",
      'helm: {chart: ./chart}\ntargetCustomizations: [{clusterName: a, helm: {version: 2.x}}]\n',
      'targetCustomizations[0].helm.version: applies to charts from helm.repo',
    ],
    [
      'helm values with Go template text Fleet would evaluate',
      'helm: {values: {name: "name-{{ .ClusterName }}"}}\n',
      'helm.values: holds Go template text ({{ ... }}), which Fleet evaluates',
    ],
    [
      "a targetCustomization's templated values",
      'targetCustomizations: [{clusterName: a, helm: {values: {n: "{{ .ClusterName }}"}}}]\n',
      'targetCustomizations[0].helm.values: holds Go template text',
    ],
    [
      'a target with options but no selection',
      'targets: [{kustomize: {dir: x}}]\n',
      'targets[0]: needs clusterSelector, clusterGroup, clusterGroupSelector or clusterName',
    ],
    [
      'an option the agent applies bundle-wide, set per target',
      'targetCustomizations: [{clusterName: a, correctDrift: true}]\n',
      'targetCustomizations[0].correctDrift: is not supported per target',
    ],
    [
      'an unknown field in a targetCustomization',
      'targetCustomizations: [{clusterName: a, doNotDeplo: true}]\n',
      'targetCustomizations[0].doNotDeplo: unknown field (did you mean doNotDeploy?)',
    ],
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseFleetYaml(text, PATH, 'demo/web')).toThrow(message);
  });
});

describe('RolloutStrategySchema on a stored strategy', () => {
  // A bundle's strategy is stored (jsonb) as parsed from fleet.yaml; readers parse the stored
  // value again with the same schema, so parsing what it produced must give it back unchanged.
  it.each([
    ['no fields (onFailure defaults)', '{}'],
    [
      'stages with every field',
      `{stages: [{name: canary, clusterSelector: {matchLabels: {ring: canary}}, maxUnavailable: 1,
        bakeTime: 10m, requireApproval: true}, {name: eu, clusterGroup: eu, maxUnavailable: 25%},
        {name: us, clusters: [us-1, us-2], bakeTime: 1h30m}], maxFailures: 2,
        progressDeadline: 15m, onFailure: rollback}`,
    ],
    ['stages without a bakeTime or approval', '{stages: [{name: all}], maxUnavailable: 10%}'],
    [
      "Fleet's partitions (mapped to stages, with a last stage rest)",
      `{maxUnavailable: 10%, maxUnavailablePartitions: 0, autoPartitionSize: 25%,
        partitions: [{name: canary, clusterSelector: {matchLabels: {ring: canary}}, maxUnavailable: 1},
        {clusterGroup: eu}, {clusterName: us-1}]}`,
    ],
    ['no partitions at all', '{partitions: []}'],
    [
      'durations in seconds and milliseconds',
      '{progressDeadline: 30s, stages: [{name: a, bakeTime: 500ms}]}',
    ],
  ])('gives back a stored strategy with %s unchanged', (_name, yaml) => {
    const parsed = parseFleetYaml(`rolloutStrategy: ${yaml}\n`, PATH).rolloutStrategy;
    const stored: unknown = JSON.parse(JSON.stringify(parsed));
    expect(RolloutStrategySchema.parse(stored)).toEqual(stored);
  });
});
