import { describe, expect, it } from 'vitest';
import {
  authorization,
  credentialFor,
  helmCredentialsProblem,
  type HelmRepoCredentials,
} from './credentials.js';

const creds: HelmRepoCredentials = {
  'https://charts.example.com/': { username: 'u', password: 'p' },
  'https://charts.example.com/private': { token: 't' },
  'oci://registry.example.com/team': { token: 'oci' },
};

describe('credentialFor (longest URL prefix, whole segments)', () => {
  it.each<[string, string, string | undefined]>([
    [
      'a repository index under the host prefix',
      'https://charts.example.com/index.yaml',
      'Basic dTpw',
    ],
    ['a longer prefix wins', 'https://charts.example.com/private/index.yaml', 'Bearer t'],
    [
      'a prefix matches whole segments only',
      'https://charts.example.com/privateer/index.yaml',
      'Basic dTpw',
    ],
    ['another host gets nothing', 'https://evil.example.com/index.yaml', undefined],
    [
      'a host name that merely starts the same gets nothing',
      'https://charts.example.com.evil.io/x',
      undefined,
    ],
    ['an OCI repository under the prefix', 'oci://registry.example.com/team/web', 'Bearer oci'],
    ['an OCI repository elsewhere', 'oci://registry.example.com/other/web', undefined],
  ])('%s', (_name, url, expected) => {
    expect(authorization(credentialFor(url, creds))).toBe(expected);
  });
});

describe('helmCredentialsProblem', () => {
  it.each<[string, HelmRepoCredentials, RegExp | undefined]>([
    ['basic auth', { 'https://c.example.com/': { username: 'u', password: 'p' } }, undefined],
    ['a token for a registry', { 'oci://r.example.com/org': { token: 't' } }, undefined],
    [
      'a CA bundle alone',
      {
        'https://c.example.com/': {
          caBundle: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----',
        },
      },
      undefined,
    ],
    [
      'a key that is not a URL',
      { 'charts.example.com': { token: 't' } },
      /^helmRepoCredentials: every key must be a URL prefix/,
    ],
    [
      'another scheme',
      { 'ftp://c.example.com': { token: 't' } },
      /https:\/\/, http:\/\/ or oci:\/\//,
    ],
    ['user info in the key', { 'https://u:p@c.example.com': { token: 't' } }, /not in the URL/],
    ['a username without password', { 'https://c.example.com': { username: 'u' } }, /go together/],
    [
      'basic and token',
      { 'https://c.example.com': { username: 'u', password: 'p', token: 't' } },
      /not both/,
    ],
    ['nothing at all', { 'https://c.example.com': {} }, /needs/],
    ['a CA bundle that is not PEM', { 'https://c.example.com': { caBundle: 'hello' } }, /PEM/],
  ])('%s', (_name, value, problem) => {
    const found = helmCredentialsProblem(value);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});
