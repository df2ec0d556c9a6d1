import { mkdir, writeFile } from 'node:fs/promises';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';

const author = { name: 'Flotilla demo', email: 'demo@flotilla.invalid' };

/** The demo's example bundles: plain YAML, Kustomize with a per-region overlay, a Helm chart. */
export function demoFiles(message: string): Record<string, string> {
  return { ...exampleBundles(message) };
}

/** A Deployment of the demo; `outcome: fail` makes the simulated cluster fail it. */
export function workload(name: string, replicas: string, outcome = 'ready'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations:
    sim.flotilla.dev/ready-after: 1s
    sim.flotilla.dev/outcome: ${outcome}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: ${name}
          image: nginx:1.27
`;
}

function exampleBundles(message: string): Record<string, string> {
  return {
    'README.md': '# Demo fleet\n\nBundles under apps/, deployed by Flotilla.\n',
    // Plain YAML, rolled out in stages: the canary first, the rest after it baked.
    'apps/web/fleet.yaml': `rolloutStrategy:
  stages:
    - name: canary
      clusterSelector: {matchLabels: {ring: canary}}
      bakeTime: 3s
    - name: rest
      maxUnavailable: 1
  onFailure: rollback
`,
    'apps/web/deployment.yaml': workload('web', '2'),
    'apps/web/config.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  message: "${message}"
`,
    // Kustomize, with an overlay for clusters in the eu region.
    'apps/frontend/fleet.yaml': `defaultNamespace: frontend
kustomize:
  dir: base
customizations:
  - name: eu
    clusterSelector:
      matchLabels: {region: eu}
    kustomize:
      dir: overlays/eu
`,
    'apps/frontend/base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
    'apps/frontend/base/deployment.yaml': workload('frontend', '1'),
    'apps/frontend/overlays/eu/kustomization.yaml': `resources:
  - ../../base
patches:
  - target: {kind: Deployment, name: frontend}
    patch: |
      - op: replace
        path: /spec/replicas
        value: 3
commonLabels:
  region: eu
`,
    // A Helm chart with values from fleet.yaml, and more replicas on the canary.
    'apps/metrics/fleet.yaml': `defaultNamespace: monitoring
helm:
  releaseName: metrics
  values:
    replicas: 1
customizations:
  - name: canary
    clusterSelector:
      matchLabels: {ring: canary}
    helm:
      values:
        replicas: 2
`,
    'apps/metrics/Chart.yaml': 'apiVersion: v2\nname: metrics\nversion: 0.1.0\n',
    'apps/metrics/values.yaml': 'replicas: 1\nimage: prom/prometheus:v2.53.0\n',
    'apps/metrics/templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  annotations:
    sim.flotilla.dev/ready-after: 1s
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: metrics
          image: {{ .Values.image }}
`,
  };
}

/** Writes `files` into the work tree at `dir` and commits them (creating the repo if needed). */
export async function commitFiles(
  dir: string,
  files: Record<string, string>,
  message: string,
): Promise<string> {
  if (!fs.existsSync(join(dir, '.git'))) {
    await mkdir(dir, { recursive: true });
    await git.init({ fs, dir, defaultBranch: 'main' });
  }
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
    await git.add({ fs, dir, filepath: path });
  }
  return git.commit({ fs, dir, message, author });
}
