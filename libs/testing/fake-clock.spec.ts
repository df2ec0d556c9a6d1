import { describe, expect, it } from 'vitest';
import { eventually } from './eventually.js';
import { SkippableClock } from './fake-clock.js';

describe('SkippableClock', () => {
  it.each([
    ['a skip past every timer fires them all, earliest first', 1000, ['a', 'b']],
    ['a skip to exactly a timer fires it', 300, ['a']],
    ['a skip short of every timer fires none', 100, []],
  ])('%s', (_name, skip, fired) => {
    const clock = new SkippableClock();
    const seen: string[] = [];
    clock.setTimeout(() => seen.push('b'), 900);
    clock.setTimeout(() => seen.push('a'), 300);
    const cleared = clock.setTimeout(() => seen.push('cleared'), 200);
    clock.clearTimeout(cleared);
    const before = clock.now();
    clock.advance(skip);
    expect(seen).toEqual(fired);
    expect(clock.now() - before).toBeGreaterThanOrEqual(skip);
  });

  it('follows the system time, and a timer not skipped over fires at its time, once', async () => {
    const clock = new SkippableClock();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
    let fired = 0;
    clock.setTimeout(() => fired++, 20);
    await eventually(
      'the timer fired',
      () => fired,
      (n) => n === 1,
    );
    clock.advance(1000);
    expect(fired).toBe(1);
  });
});
