import { describe, expect, it } from 'vitest';
import { isHubPath } from './web-dashboard.js';

describe('isHubPath: what the dashboard fallback never answers', () => {
  it.each([
    ['/api', true],
    ['/api/v1/clusters', true],
    ['/api/docs', true],
    ['/healthz', true],
    ['/readyz/', true],
    ['/metrics', true],
    ['/', false],
    ['/rollouts/1234', false],
    ['/clusters/eu-1', false],
    ['/apis', false],
  ])('%s → %s', (path, expected) => {
    expect(isHubPath(path)).toBe(expected);
  });
});
