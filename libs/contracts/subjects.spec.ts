import { describe, expect, it } from 'vitest';
import { createSubjects } from './subjects.js';

describe('clusterOf', () => {
  const cases: { prefix: string; subject: string; cluster: string | undefined }[] = [
    { prefix: '', subject: 'flotilla.hub.c1.heartbeat', cluster: 'c1' },
    { prefix: '', subject: 'flotilla.hub.c1.status', cluster: 'c1' },
    { prefix: 'bench.x1', subject: 'bench.x1.flotilla.hub.eu-1.heartbeat', cluster: 'eu-1' },
    { prefix: 'bench.x1', subject: 'bench.x1.flotilla.hub.eu-1', cluster: undefined },
    { prefix: '', subject: 'flotilla.hub.c1', cluster: undefined },
    { prefix: '', subject: 'flotilla.hub.c1.heartbeat.more', cluster: undefined },
    { prefix: '', subject: 'flotilla', cluster: undefined },
    { prefix: '', subject: '', cluster: undefined },
    { prefix: '', subject: 'flotilla.hub..heartbeat', cluster: '' },
    { prefix: '', subject: 'flotilla.hub.c1.', cluster: 'c1' },
    { prefix: '', subject: '...', cluster: '' },
    { prefix: '', subject: '....', cluster: undefined },
  ];
  it.each(cases)('$subject (prefix "$prefix") → $cluster', ({ prefix, subject, cluster }) => {
    const subjects = createSubjects(prefix);
    expect(subjects.clusterOf(subject)).toBe(cluster);
    // As splitting on dots reads it: the root's tokens, the kind, the cluster, one more.
    const parts = subject.split('.');
    const depth = (prefix === '' ? 'flotilla' : `${prefix}.flotilla`).split('.').length;
    expect(parts.length === depth + 3 ? parts[depth + 1] : undefined).toBe(cluster);
  });

  it('reads back the cluster of every subject an agent publishes to', () => {
    const subjects = createSubjects('p');
    for (const subject of [
      subjects.heartbeat('a-1'),
      subjects.status('a-1'),
      subjects.sync('a-1'),
      subjects.content('a-1'),
    ])
      expect(subjects.clusterOf(subject)).toBe('a-1');
  });
});
