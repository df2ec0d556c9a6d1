import { describe, expect, it } from 'vitest';
import { NatsRediscovery, changedNatsDetails } from './nats-rediscovery.js';

type Step =
  | { at: number; event: 'reachable' | 'unreachable' | 'answered' | 'unanswered' }
  | { at: number; expectDelay: number | undefined };

describe('NatsRediscovery', () => {
  // afterMs 10 s, at most 60 s between asks; `random` 0 unless a row says otherwise.
  it.each<{ name: string; random?: number; steps: Step[] }>([
    {
      name: 'asks nothing while NATS is reachable',
      steps: [
        { at: 0, event: 'reachable' },
        { at: 100_000, expectDelay: undefined },
      ],
    },
    {
      name: 'asks 10 s after NATS became unreachable, not before',
      steps: [
        { at: 1_000, event: 'unreachable' },
        { at: 1_000, expectDelay: 10_000 },
        { at: 7_000, expectDelay: 4_000 },
        { at: 11_000, expectDelay: 0 },
        { at: 50_000, expectDelay: 0 },
      ],
    },
    {
      name: 'a repeated unreachable keeps the start of the outage',
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 8_000, event: 'unreachable' },
        { at: 8_000, expectDelay: 2_000 },
      ],
    },
    {
      name: 'a blip shorter than 10 s costs no request, and the next outage starts afresh',
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 5_000, event: 'reachable' },
        { at: 5_000, expectDelay: undefined },
        { at: 20_000, event: 'unreachable' },
        { at: 20_000, expectDelay: 10_000 },
      ],
    },
    {
      name: 'while NATS stays unreachable, asks again after 20 s, 40 s, then every 60 s',
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 10_000, event: 'answered' },
        { at: 10_000, expectDelay: 20_000 },
        { at: 30_000, event: 'answered' },
        { at: 30_000, expectDelay: 40_000 },
        { at: 70_000, event: 'answered' },
        { at: 70_000, expectDelay: 60_000 },
        { at: 130_000, event: 'answered' },
        { at: 130_000, expectDelay: 60_000 },
      ],
    },
    {
      name: 'while the hub does not answer (restarting), asks again after 1 s, 2 s, 4 s, ... at most 10 s',
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 10_000, event: 'unanswered' },
        { at: 10_000, expectDelay: 1_000 },
        { at: 11_000, event: 'unanswered' },
        { at: 11_000, expectDelay: 2_000 },
        { at: 13_000, event: 'unanswered' },
        { at: 13_000, expectDelay: 4_000 },
        { at: 17_000, event: 'unanswered' },
        { at: 17_000, expectDelay: 8_000 },
        { at: 25_000, event: 'unanswered' },
        { at: 25_000, expectDelay: 10_000 },
      ],
    },
    {
      name: 'once the hub answers again, the answered backoff goes on where it was',
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 10_000, event: 'answered' },
        { at: 30_000, event: 'unanswered' },
        { at: 30_000, expectDelay: 1_000 },
        { at: 31_000, event: 'answered' },
        { at: 31_000, expectDelay: 40_000 },
      ],
    },
    {
      name: 'chance shortens a wait between asks by at most a quarter',
      random: 0.999_999,
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 10_000, event: 'answered' },
        { at: 10_000, expectDelay: 15_000 },
      ],
    },
    {
      name: 'reaching NATS resets the backoff: the next outage asks after 10 s again',
      steps: [
        { at: 0, event: 'unreachable' },
        { at: 10_000, event: 'answered' },
        { at: 30_000, event: 'answered' },
        { at: 31_000, event: 'reachable' },
        { at: 100_000, event: 'unreachable' },
        { at: 100_000, expectDelay: 10_000 },
        { at: 110_000, event: 'answered' },
        { at: 110_000, expectDelay: 20_000 },
      ],
    },
  ])('$name', ({ random = 0, steps }) => {
    let now = 0;
    const policy = new NatsRediscovery(10_000, 60_000, { now: () => now, random: () => random });
    for (const step of steps) {
      now = step.at;
      if (!('event' in step))
        expect(policy.delayMs(), `delay at ${step.at}`).toBe(step.expectDelay);
      else if (step.event === 'answered') policy.asked('answered');
      else if (step.event === 'unanswered') policy.asked('unreachable');
      else policy[step.event]();
    }
  });
});

describe('changedNatsDetails', () => {
  const base = {
    natsUrl: 'nats://127.0.0.1:4222',
    credentials: 'creds-1',
    inboxPrefix: '_INBOX.a',
  };
  it.each([
    { name: 'nothing when the hub names the same NATS', fresh: { ...base }, expected: [] },
    {
      name: 'the URL when NATS moved to another port',
      fresh: { ...base, natsUrl: 'nats://127.0.0.1:4333' },
      expected: ['natsUrl'],
    },
    {
      name: 'the credentials when the hub issued new ones (never their value)',
      fresh: { ...base, credentials: 'creds-2' },
      expected: ['credentials'],
    },
    {
      name: 'credentials that appeared when the hub turned NATS authentication on',
      fresh: { natsUrl: base.natsUrl, credentials: 'creds-1', inboxPrefix: '_INBOX.a' },
      current: { natsUrl: base.natsUrl },
      expected: ['credentials', 'inboxPrefix'],
    },
  ])('names $name', ({ fresh, current = base, expected }) => {
    expect(changedNatsDetails(current, fresh)).toEqual(expected);
  });
});
