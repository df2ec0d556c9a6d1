import { describe, expect, it } from 'vitest';
import { loadHubConfig, parseByteSize } from './config.js';

describe('FLOTILLA_GIT_MAX_BYTES', () => {
  it.each<[string, Record<string, string>, number]>([
    ['defaults to 256 MiB', {}, 256 * 1024 * 1024],
    ['takes bytes', { FLOTILLA_GIT_MAX_BYTES: '1048576' }, 1048576],
    ['takes KiB', { FLOTILLA_GIT_MAX_BYTES: '512KiB' }, 512 * 1024],
    ['takes GiB', { FLOTILLA_GIT_MAX_BYTES: '2GiB' }, 2 * 1024 ** 3],
  ])('%s', (_behaviour, env, bytes) => {
    expect(loadHubConfig(env).gitMaxBytes).toBe(bytes);
  });

  it.each(['', 'lots', '1.5MiB', '10MB', '-1', '0'])(
    '"%s" stops the hub with a message naming the variable',
    (value) => {
      expect(() => loadHubConfig({ FLOTILLA_GIT_MAX_BYTES: value })).toThrow(
        /FLOTILLA_GIT_MAX_BYTES/,
      );
    },
  );

  it('parseByteSize names the accepted forms', () => {
    expect(() => parseByteSize('1TB')).toThrow(/use e.g. 1048576, 512KiB, 256MiB, 2GiB/);
  });
});
