import { describe, expect, it } from 'vitest';
import { type Access, type Role, decideAccess, isRole, roleSatisfies } from './roles.js';

describe('roleSatisfies', () => {
  const cases: [have: Role, need: Role, allowed: boolean][] = [
    ['viewer', 'viewer', true],
    ['viewer', 'operator', false],
    ['viewer', 'admin', false],
    ['operator', 'viewer', true],
    ['operator', 'operator', true],
    ['operator', 'admin', false],
    ['admin', 'viewer', true],
    ['admin', 'operator', true],
    ['admin', 'admin', true],
  ];
  it.each(cases)('a %s token on an endpoint needing %s: allowed=%s', (have, need, allowed) => {
    expect(roleSatisfies(have, need)).toBe(allowed);
  });
});

describe('decideAccess', () => {
  const viewer = { name: 'dash', role: 'viewer' as const };
  const cases: {
    name: string;
    need: Access;
    caller?: { name: string; role: Role };
    status?: 401 | 403;
  }[] = [
    { name: 'public endpoints need no token', need: 'public' },
    { name: 'agent endpoints check their own tokens', need: 'agent' },
    { name: 'a role endpoint without a token is 401', need: 'viewer', status: 401 },
    { name: 'a viewer reads', need: 'viewer', caller: viewer },
    { name: 'a viewer may not act on rollouts', need: 'operator', caller: viewer, status: 403 },
    { name: 'a viewer may not register clusters', need: 'admin', caller: viewer, status: 403 },
    { name: 'an admin may do everything', need: 'admin', caller: { name: 'root', role: 'admin' } },
  ];
  it.each(cases)('$name', ({ need, caller, status }) => {
    const decision = decideAccess(need, caller);
    if (status === undefined) expect(decision).toEqual({ allow: true });
    else expect(decision).toMatchObject({ allow: false, status });
  });

  it('names the role needed and the role held in a 403', () => {
    expect(decideAccess('admin', viewer)).toEqual({
      allow: false,
      status: 403,
      message: 'this needs the admin role; API token "dash" has the viewer role',
    });
  });

  it('passes the reason of a 401 through', () => {
    expect(decideAccess('viewer', undefined, 'API token expired')).toMatchObject({
      message: 'API token expired',
    });
  });
});

describe('isRole', () => {
  it.each([
    ['viewer', true],
    ['operator', true],
    ['admin', true],
    ['root', false],
    ['', false],
    [3, false],
  ])('%s → %s', (value, expected) => expect(isRole(value)).toBe(expected));
});
