import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { LiveEventView } from '../../libs/contracts/api-views.js';
import { authHeaders } from './api.js';

/** The state of the live connection, as the header shows it. */
export type LiveState = 'connecting' | 'live' | 'lost';

/** No ping for this long (the hub sends one every 10 s) means the connection is dead. */
const SILENCE_MS = 25_000;

/** Splits a server-sent events stream into its events (`event:` name and `data:` JSON). */
export function parseSse(buffer: string): {
  events: { type: string; data: string }[];
  rest: string;
} {
  const events: { type: string; data: string }[] = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let type = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) events.push({ type, data: data.join('\n') });
  }
  return { events, rest };
}

/**
 * Follows the hub's live events (`/api/v1/events`, read with fetch so the token goes in a
 * header, never in the URL) and refreshes the queries they concern. Reconnects after a lost
 * connection, refreshing everything once back.
 */
export function useLiveUpdates(): LiveState {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    let stopped = false;
    let controller: AbortController | undefined;
    let pending = new Set<string>();
    let flush: ReturnType<typeof setTimeout> | undefined;
    const matches = (kinds: Set<string>) => (q: { queryKey: readonly unknown[] }) =>
      q.queryKey[0] === 'overview' || q.queryKey.some((k) => typeof k === 'string' && kinds.has(k));
    const flushSoon = () => {
      flush ??= setTimeout(() => {
        flush = undefined;
        // Backpressure: while a concerned query still loads, wait (a burst of events then costs
        // one refresh, and a slow page is never restarted over and over).
        if (client.isFetching({ predicate: matches(pending) }) > 0) return flushSoon();
        const kinds = pending;
        pending = new Set();
        // Every page reads several kinds (a rollout's page reads deployments too): refresh the
        // queries of the kinds that changed, and the overview that sums them.
        void client.invalidateQueries({ predicate: matches(kinds) }, { cancelRefetch: false });
      }, 300);
    };
    const invalidate = (e: LiveEventView) => {
      pending.add(e.kind);
      flushSoon();
    };
    const run = async () => {
      let attempt = 0;
      while (!stopped) {
        controller = new AbortController();
        let silence: ReturnType<typeof setTimeout> | undefined;
        const arm = () => {
          clearTimeout(silence);
          silence = setTimeout(() => controller?.abort(), SILENCE_MS);
        };
        try {
          const res = await fetch('/api/v1/events', {
            headers: { accept: 'text/event-stream', ...authHeaders() },
            signal: controller.signal,
          });
          if (!res.ok || res.body === null) throw new Error(`live events: ${res.status}`);
          setState('live');
          if (attempt > 0) void client.invalidateQueries();
          attempt = 0;
          arm();
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            arm();
            const parsed = parseSse(buffer + value);
            buffer = parsed.rest;
            for (const e of parsed.events) {
              if (e.type === 'change') invalidate(JSON.parse(e.data) as LiveEventView);
            }
          }
        } catch {
          // Lost, refused or timed out: shown below, then tried again.
        } finally {
          clearTimeout(silence);
        }
        if (stopped) return;
        setState('lost');
        attempt += 1;
        await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 5000)));
      }
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(flush);
      controller?.abort();
    };
  }, [client]);
  return state;
}
