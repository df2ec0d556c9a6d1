import { describe, expect, it } from 'vitest';
import type { NotificationEvent, NotificationEventKind } from './events.js';
import { commitStatusKey, supersededBy } from './supersede.js';

const ev = (
  kind: NotificationEventKind,
  over: Partial<NotificationEvent> = {},
): NotificationEvent => ({
  id: `${kind}-${over.commit ?? 'c1'}`,
  kind,
  severity: 'info',
  message: kind,
  at: '2026-01-01T00:00:00.000Z',
  gitrepo: 'shop',
  bundle: 'web',
  commit: 'c1',
  ...over,
});
const d = (id: string, event: NotificationEvent) => ({ id, event });

describe('supersededBy', () => {
  it.each([
    ['nothing delivered: send', d('1', ev('BundleProgressing')), [], null],
    [
      'a retried pending after its success was delivered: stale',
      d('1', ev('BundleProgressing')),
      [d('2', ev('BundleReady'))],
      '2',
    ],
    [
      'a retried pending after its failure was delivered: stale',
      d('1', ev('RolloutStarted')),
      [d('2', ev('RolloutFailed'))],
      '2',
    ],
    [
      'a pending written after a delivered final state is never sent either',
      d('3', ev('BundleProgressing')),
      [d('2', ev('BundleReady'))],
      '2',
    ],
    [
      'a final state after a later final state was delivered: stale',
      d('1', ev('BundleFailed')),
      [d('2', ev('BundleReady'))],
      '2',
    ],
    [
      'a final state after an earlier one: send (the last one written wins)',
      d('3', ev('BundleReady')),
      [d('2', ev('BundleFailed'))],
      null,
    ],
    [
      'a pending after an earlier pending: send',
      d('3', ev('RolloutPaused')),
      [d('2', ev('BundleProgressing'))],
      null,
    ],
    [
      'another commit does not count',
      d('1', ev('BundleProgressing')),
      [d('2', ev('BundleReady', { commit: 'c2' }))],
      null,
    ],
    [
      'another bundle (context) does not count',
      d('1', ev('BundleProgressing')),
      [d('2', ev('BundleReady', { bundle: 'api' }))],
      null,
    ],
    [
      'another GitRepo does not count',
      d('1', ev('BundleProgressing')),
      [d('2', ev('BundleReady', { gitrepo: 'other' }))],
      null,
    ],
    [
      'a later event that sets no commit status does not count',
      d('1', ev('BundleProgressing')),
      [d('2', ev('RolloutStageDone'))],
      null,
    ],
    [
      'an event that sets no commit status is never stale',
      d('1', ev('ClusterOffline', { bundle: undefined, commit: undefined })),
      [d('2', ev('BundleReady'))],
      null,
    ],
    [
      'ids compare as numbers, not strings',
      d('9', ev('BundleFailed')),
      [d('10', ev('BundleReady'))],
      '10',
    ],
  ] as const)('%s', (_name, candidate, delivered, expected) => {
    expect(supersededBy(candidate, delivered)?.id ?? null).toBe(expected);
  });
});

describe('commitStatusKey', () => {
  it.each([
    ['a bundle status', ev('BundleReady'), '["shop","/web","c1"]'],
    ['a GitRepo status', ev('RolloutSucceeded', { bundle: undefined }), '["shop","/shop","c1"]'],
    ['no commit', ev('BundleReady', { commit: undefined }), null],
    ['no status', ev('DriftDetected'), null],
  ] as const)('%s', (_name, event, expected) => {
    expect(commitStatusKey(event)).toBe(expected);
  });
});
