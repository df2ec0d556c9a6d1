/**
 * Sums the self time of a V8 CPU profile (`.cpuprofile`, as written by the inspector's
 * `Profiler.stop`) by function, for reading where a process spends its CPU.
 */

/** The parts of a V8 `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  /** Microseconds between a sample and the previous one (the first: since startTime). */
  timeDeltas?: number[];
}

export interface SelfTime {
  /** `name (file:line)`; `(anonymous)` for unnamed functions; V8's own entries as they are. */
  fn: string;
  /** Self time in milliseconds. */
  ms: number;
  /** Share of the profile's total sampled time, in %. */
  percent: number;
}

function label(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/');
  return `${name} (${file}:${frame.lineNumber + 1})`;
}

/**
 * Self time by function, largest first. A sample's time is the delta to the next sample (the
 * last sample: to the profile's end), as Chrome DevTools counts it. Nodes of the same function
 * (same name, file and line) reached by different call paths are summed.
 */
export function selfTimeByFunction(profile: CpuProfile): SelfTime[] {
  const labels = new Map<number, string>();
  for (const node of profile.nodes) labels.set(node.id, label(node.callFrame));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const sums = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const next = i + 1 < samples.length ? at + (deltas[i + 1] ?? 0) : profile.endTime;
    const us = Math.max(0, next - at);
    const fn = labels.get(samples[i]!) ?? `(unknown node ${samples[i]})`;
    sums.set(fn, (sums.get(fn) ?? 0) + us);
    total += us;
  }
  return [...sums]
    .map(([fn, us]) => ({
      fn,
      ms: Math.round(us / 100) / 10,
      percent: total === 0 ? 0 : Math.round((us / total) * 1000) / 10,
    }))
    .sort((a, b) => b.ms - a.ms || a.fn.localeCompare(b.fn));
}

/** The first `top` rows of {@link selfTimeByFunction} as aligned text lines. */
export function formatSelfTime(rows: SelfTime[], top = 25): string {
  return rows
    .slice(0, top)
    .map((r) => `${r.ms.toFixed(1).padStart(10)} ms ${r.percent.toFixed(1).padStart(5)} %  ${r.fn}`)
    .join('\n');
}
