import { describe, expect, it } from 'vitest';
import { natsServerConfig } from './server-config.js';

describe('natsServerConfig', () => {
  const text = natsServerConfig({
    operatorJwt: 'eyJoperator.jwt.sig',
    systemAccountPublicKey: 'ASYS',
    accountJwts: { ASYS: 'eyJsys.jwt.sig', AFLOT: 'eyJflot.jwt.sig' },
    resolverDir: '/data/with "quotes"/jwt',
  });

  it.each<[string, string]>([
    ['trusts the operator, inline', 'operator: "eyJoperator.jwt.sig"'],
    ['names the system account', 'system_account: ASYS'],
    ['keeps account JWTs in a full resolver', '  type: full'],
    ['never deletes account JWTs', '  allow_delete: false'],
    ['quotes the resolver directory', '  dir: "/data/with \\"quotes\\"/jwt"'],
    ['preloads the system account', '  ASYS: "eyJsys.jwt.sig"'],
    ['preloads the Flotilla account', '  AFLOT: "eyJflot.jwt.sig"'],
  ])('%s', (_name, line) => {
    expect(text.split('\n')).toContain(line);
  });
});
