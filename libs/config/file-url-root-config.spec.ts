import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHubConfig } from './config.js';

describe('FLOTILLA_FILE_URL_ROOT', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['unset: file:// GitRepos are refused', {}, undefined],
    ['empty counts as unset', { FLOTILLA_FILE_URL_ROOT: '' }, undefined],
    ['an absolute directory is kept', { FLOTILLA_FILE_URL_ROOT: '/srv/git' }, '/srv/git'],
    [
      'a relative directory is made absolute (against the working directory)',
      { FLOTILLA_FILE_URL_ROOT: '.flotilla/repos' },
      resolve('.flotilla/repos'),
    ],
    [
      'FLOTILLA_ALLOW_FILE_URLS=true next to a root changes nothing',
      { FLOTILLA_FILE_URL_ROOT: '/srv/git', FLOTILLA_ALLOW_FILE_URLS: 'true' },
      '/srv/git',
    ],
    [
      'FLOTILLA_ALLOW_FILE_URLS=false is accepted',
      { FLOTILLA_ALLOW_FILE_URLS: 'false' },
      undefined,
    ],
  ])('%s', (_behaviour, env, root) => {
    expect(loadHubConfig(env).fileUrlRoot).toBe(root);
  });

  it('FLOTILLA_ALLOW_FILE_URLS=true alone (it opened the whole disk) stops the hub, naming the replacement', () => {
    expect(() => loadHubConfig({ FLOTILLA_ALLOW_FILE_URLS: 'true' })).toThrow(
      /FLOTILLA_ALLOW_FILE_URLS is replaced by FLOTILLA_FILE_URL_ROOT/,
    );
  });
});
