import { readFileSync } from 'node:fs';
import type { KubeObject } from '../manifests/index.js';

/**
 * A response recorded from a real kube-apiserver (`testdata/k8s-observed/`, see its README for
 * the requests that produced them).
 */
export function observedResponse(name: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL(`./testdata/k8s-observed/${name}`, import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
}

/**
 * The Service and the Deployment applied in the recorded requests (`01-service-…`,
 * `02-deployment-…`): list items the API server keys on fields it defaults (a port's protocol).
 * Fresh objects on every call; `image` replaces the container image (a real cluster that must run
 * the pod uses a small one).
 */
export function observedFixtures(image = 'nginx:1.27'): {
  service: KubeObject;
  deployment: KubeObject;
} {
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api' },
      spec: { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              {
                name: 'api',
                image,
                ports: [{ containerPort: 8080 }],
                env: [{ name: 'A', value: '1' }],
              },
            ],
          },
        },
      },
    },
  };
}
