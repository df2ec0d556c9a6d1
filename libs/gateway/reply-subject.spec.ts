import { describe, expect, it } from 'vitest';
import { createSubjects } from '../contracts/subjects.js';
import { ReplyRefusal, replySubjectRefusal } from './reply-subject.js';

describe('replySubjectRefusal', () => {
  const plain = createSubjects();
  const prefixed = createSubjects('t1.x2');
  it.each([
    [
      'a reply under the cluster own inbox (a request of the NATS client)',
      plain,
      'a',
      '_INBOX.flotilla.agent.a.AbC123.7',
      undefined,
    ],
    [
      'a reply under the cluster own inbox with a subject prefix',
      prefixed,
      'a',
      '_INBOX.t1.x2.flotilla.agent.a.AbC.1',
      undefined,
    ],
    ['no reply subject', plain, 'a', undefined, ReplyRefusal.Missing],
    ['an empty reply subject', plain, 'a', '', ReplyRefusal.Missing],
    [
      "another cluster's desired state",
      plain,
      'a',
      'flotilla.agent.b.desired',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      'the JetStream API (delete the status stream)',
      plain,
      'a',
      '$JS.API.STREAM.DELETE.FLOTILLA_STATUS',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      "another cluster's inbox",
      plain,
      'a',
      '_INBOX.flotilla.agent.b.AbC.1',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      'the inbox of a cluster whose name starts with this one',
      plain,
      'a',
      '_INBOX.flotilla.agent.ab.AbC.1',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      'the inbox prefix itself (no token under it)',
      plain,
      'a',
      '_INBOX.flotilla.agent.a',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      'a default client inbox',
      plain,
      'a',
      '_INBOX.Zq9nRaxXmS8bYkS2RqWw7P.1',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      'the inbox of another subject prefix',
      prefixed,
      'a',
      '_INBOX.flotilla.agent.a.AbC.1',
      ReplyRefusal.NotOwnInbox,
    ],
    [
      'a wildcard under the own inbox',
      plain,
      'a',
      '_INBOX.flotilla.agent.a.>',
      ReplyRefusal.Malformed,
    ],
    [
      'an empty token under the own inbox',
      plain,
      'a',
      '_INBOX.flotilla.agent.a..x',
      ReplyRefusal.Malformed,
    ],
    [
      'white space under the own inbox',
      plain,
      'a',
      '_INBOX.flotilla.agent.a.x y',
      ReplyRefusal.Malformed,
    ],
    [
      'a cluster name that cannot be a subject token',
      plain,
      'a.b',
      '_INBOX.flotilla.agent.a.b.x',
      ReplyRefusal.NotOwnInbox,
    ],
  ])('%s', (_name, subjects, cluster, reply, expected) => {
    expect(replySubjectRefusal(subjects, cluster, reply)).toBe(expected);
  });
});
