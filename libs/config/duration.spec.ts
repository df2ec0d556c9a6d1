import { describe, expect, it } from 'vitest';
import { parseFleetYaml } from '../bundles/fleet-yaml.js';
import { loadHubConfig, parseDuration as hubDuration } from './config.js';
import { isDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    { text: '500ms', ms: 500 },
    { text: '60s', ms: 60_000 },
    { text: '10m', ms: 600_000 },
    { text: '1h', ms: 3_600_000 },
    { text: '1h30m', ms: 5_400_000 },
    { text: '1m30s250ms', ms: 90_250 },
    { text: '1.5s', ms: 1_500 },
    { text: '0', ms: 0 },
    { text: '0s', ms: 0 },
    { text: '250', ms: 250 },
    { text: ' 5s ', ms: 5_000 },
  ])('$text is $ms ms', ({ text, ms }) => {
    expect(isDuration(text)).toBe(true);
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '5 s', '-5s', '5d', '1h 30m', 's', '5s5', '1e3', '0x10'])(
    '%j is refused with the accepted forms',
    (text) => {
      expect(isDuration(text)).toBe(false);
      expect(() => parseDuration(text)).toThrow(
        `invalid duration ${JSON.stringify(text)}: must be a duration like "500ms", "60s", "10m" or "1h30m"`,
      );
    },
  );
});

describe('one duration grammar everywhere', () => {
  it('the hub (API ttl, pollingInterval, CLI flags) parses durations with the same function', () => {
    expect(hubDuration).toBe(parseDuration);
    expect(hubDuration('1h30m')).toBe(5_400_000);
  });

  it.each(['1h30m', '90s', '1.5m'])(
    '%s is read alike by the environment and fleet.yaml',
    (text) => {
      const config = loadHubConfig({ FLOTILLA_HEARTBEAT_INTERVAL: text });
      const fleet = parseFleetYaml(
        `rolloutStrategy:\n  progressDeadline: ${text}\n  stages:\n    - name: all\n      bakeTime: ${text}\n`,
        'app/fleet.yaml',
      );
      expect(config.heartbeatIntervalMs).toBe(parseDuration(text));
      expect(fleet.rolloutStrategy?.stages?.[0]?.bakeTime).toBe(text);
    },
  );
});
