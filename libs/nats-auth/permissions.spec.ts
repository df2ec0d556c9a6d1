import { describe, expect, it } from 'vitest';
import { createSubjects } from '../contracts/subjects.js';
import { agentPermissions, type AgentPermissions } from './permissions.js';

describe('agentPermissions', () => {
  it.each<[string, string, string, AgentPermissions]>([
    [
      'without a prefix: its own hub-bound subjects, what the hub sends it, its inbox',
      '',
      'eu-1',
      {
        publish: ['flotilla.hub.eu-1.>'],
        subscribe: ['flotilla.agent.eu-1.>', '_INBOX.flotilla.agent.eu-1.>'],
        inboxPrefix: '_INBOX.flotilla.agent.eu-1',
      },
    ],
    [
      "with a test run's prefix, in every subject and in the inbox",
      't42.xab12cd',
      'a',
      {
        publish: ['t42.xab12cd.flotilla.hub.a.>'],
        subscribe: ['t42.xab12cd.flotilla.agent.a.>', '_INBOX.t42.xab12cd.flotilla.agent.a.>'],
        inboxPrefix: '_INBOX.t42.xab12cd.flotilla.agent.a',
      },
    ],
  ])('%s', (_name, prefix, cluster, expected) => {
    expect(agentPermissions(createSubjects(prefix), cluster)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['every subject the agent publishes', 'heartbeat'],
    ['status', 'status'],
    ['sync requests', 'sync'],
    ['content requests', 'content'],
  ])("covers the agent's %s", (_name, kind) => {
    const subjects = createSubjects('p');
    const [allowed] = agentPermissions(subjects, 'c').publish;
    const subject = {
      heartbeat: subjects.heartbeat('c'),
      status: subjects.status('c'),
      sync: subjects.sync('c'),
      content: subjects.content('c'),
    }[kind]!;
    expect(subject.startsWith(allowed!.slice(0, -1))).toBe(true);
  });

  it("does not reach into another cluster whose name starts with this one's", () => {
    const subjects = createSubjects();
    const perms = agentPermissions(subjects, 'a');
    for (const allowed of [...perms.publish, ...perms.subscribe]) {
      const base = allowed.slice(0, -1); // without the trailing '>'
      for (const other of [subjects.status('ab'), subjects.desired('ab')]) {
        expect(other.startsWith(base)).toBe(false);
      }
    }
  });

  it.each(['a.b', '*', '>', 'with space', ''])('refuses the cluster name "%s"', (cluster) => {
    expect(() => agentPermissions(createSubjects(), cluster)).toThrow(/NATS subject/);
  });
});
