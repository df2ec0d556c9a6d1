import { describe, expect, it } from 'vitest';
import { backoffDelayMs, clusterNameFromHostname } from './hub-client.js';

describe('clusterNameFromHostname', () => {
  it.each([
    ['worker-1', 'worker-1'],
    ['Worker_1.Example.COM', 'worker-1-example-com'],
    ['--odd..name--', 'odd-name'],
    ['___', 'cluster'],
    ['a'.repeat(62) + '-b', 'a'.repeat(62)],
  ])('%s → %s', (host, name) => {
    expect(clusterNameFromHostname(host)).toBe(name);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});

describe('backoffDelayMs', () => {
  it('grows exponentially with jitter and is capped', () => {
    for (let i = 0; i < 100; i++) {
      const first = backoffDelayMs(0);
      expect(first).toBeGreaterThanOrEqual(250);
      expect(first).toBeLessThanOrEqual(500);
      const third = backoffDelayMs(2);
      expect(third).toBeGreaterThanOrEqual(1_000);
      expect(third).toBeLessThanOrEqual(2_000);
      const late = backoffDelayMs(1_000);
      expect(late).toBeGreaterThanOrEqual(15_000);
      expect(late).toBeLessThanOrEqual(30_000);
    }
  });
});
