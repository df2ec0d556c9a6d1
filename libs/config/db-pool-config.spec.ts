import { describe, expect, it } from 'vitest';
import { loadHubConfig } from './config.js';

describe('FLOTILLA_DB_POOL and FLOTILLA_API_DB_POOL', () => {
  it.each<[string, Record<string, string>, { dbPoolSize: number; apiDbPoolSize: number }]>([
    [
      'default: 10 for the main pool, 4 for the api service',
      {},
      { dbPoolSize: 10, apiDbPoolSize: 4 },
    ],
    [
      'empty counts as unset',
      { FLOTILLA_DB_POOL: '', FLOTILLA_API_DB_POOL: '' },
      { dbPoolSize: 10, apiDbPoolSize: 4 },
    ],
    [
      'each set on its own',
      { FLOTILLA_DB_POOL: '20', FLOTILLA_API_DB_POOL: '2' },
      { dbPoolSize: 20, apiDbPoolSize: 2 },
    ],
    [
      '1 and 100 are the bounds',
      { FLOTILLA_DB_POOL: '100', FLOTILLA_API_DB_POOL: '1' },
      { dbPoolSize: 100, apiDbPoolSize: 1 },
    ],
  ])('%s', (_behaviour, env, expected) => {
    expect(loadHubConfig(env)).toMatchObject(expected);
  });

  it.each([
    ['FLOTILLA_API_DB_POOL', '0'],
    ['FLOTILLA_API_DB_POOL', '101'],
    ['FLOTILLA_DB_POOL', '2.5'],
    ['FLOTILLA_DB_POOL', 'four'],
    ['FLOTILLA_API_DB_POOL', '-1'],
  ])('%s=%s stops the hub with a message naming the variable and the range', (name, value) => {
    expect(() => loadHubConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*1 to 100`));
  });
});
