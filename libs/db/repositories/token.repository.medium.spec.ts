import { beforeAll, describe, expect, it } from 'vitest';
import { TokenPrefix } from '../../contracts/tokens.js';
import { useMigratedDatabase } from '../../testing/index.js';
import { NotFoundError } from '../errors.js';
import { hashToken } from '../tokens.js';
import { ClusterRepository } from './cluster.repository.js';
import { TokenRepository } from './token.repository.js';

const db = useMigratedDatabase();
let tokens: TokenRepository;

const registration = (over: { maxUses?: number | null; expiresAt?: Date | null } = {}) =>
  tokens.createRegistrationToken({
    description: 'test',
    labels: { env: 'prod' },
    maxUses: null,
    expiresAt: null,
    ...over,
  });
const consume = (token: string) =>
  db.ds.transaction((m) => tokens.consumeRegistrationToken(token, m));

beforeAll(async () => {
  tokens = new TokenRepository(db.ds);
  const clusters = new ClusterRepository(db.ds);
  for (const name of ['eu-1', 'eu-2']) await clusters.create(name, {});
});

describe('TokenRepository: agent tokens', () => {
  it('finds the cluster of an agent token; stores only its hash', async () => {
    const token = await tokens.createAgentToken('eu-1');
    expect(token.startsWith(TokenPrefix.Agent)).toBe(true);
    expect(await tokens.clusterForAgentToken(token)).toBe('eu-1');
    expect(await tokens.liveAgentTokenHashes('eu-1')).toEqual([hashToken(token)]);
    const rows = await db.ds.query('SELECT * FROM agent_tokens');
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it.each([
    ['an unknown token', `${TokenPrefix.Agent}unknown`],
    ['a registration token', `${TokenPrefix.Registration}whatever`],
    ['no token at all', ''],
  ])('knows no cluster for %s', async (_name, token) => {
    expect(await tokens.clusterForAgentToken(token)).toBeUndefined();
  });

  it('rotation revokes every live token of the cluster and issues one new token', async () => {
    const old = await tokens.createAgentToken('eu-2');
    const { token, revokedHashes } = await tokens.rotateAgentToken('eu-2');
    expect(revokedHashes).toEqual([hashToken(old)]);
    expect(await tokens.clusterForAgentToken(old)).toBeUndefined();
    expect(await tokens.clusterForAgentToken(token)).toBe('eu-2');
    expect(await tokens.liveAgentTokenHashes('eu-2')).toEqual([hashToken(token)]);
  });

  it('a rotation in a transaction that rolls back keeps the old token', async () => {
    const [live] = await tokens.liveAgentTokenHashes('eu-2');
    await expect(
      db.ds.transaction(async (m) => {
        await tokens.rotateAgentToken('eu-2', m);
        throw new Error('publishing the revocation failed');
      }),
    ).rejects.toThrow('publishing the revocation failed');
    expect(await tokens.liveAgentTokenHashes('eu-2')).toEqual([live]);
  });
});

describe('TokenRepository: registration tokens', () => {
  it('grants its labels while it has uses left, then refuses', async () => {
    const { token, entity } = await registration({ maxUses: 2 });
    expect(token.startsWith(TokenPrefix.Registration)).toBe(true);
    expect(entity).toMatchObject({ uses: 0, maxUses: 2, labels: { env: 'prod' } });
    const grant = { tokenId: entity.id, labels: { env: 'prod' } };
    expect(await consume(token)).toEqual(grant);
    expect(await consume(token)).toEqual(grant);
    expect(await consume(token)).toBeUndefined();
  });

  it.each<[string, () => Promise<string>]>([
    [
      'an expired token',
      async () => (await registration({ expiresAt: new Date(Date.now() - 1000) })).token,
    ],
    ['an unknown token', () => Promise.resolve(`${TokenPrefix.Registration}unknown`)],
    ['an agent token', () => tokens.createAgentToken('eu-1')],
  ])('grants nothing for %s', async (_name, make) => {
    expect(await consume(await make())).toBeUndefined();
  });

  it('a registration that fails gives its use back', async () => {
    const { token } = await registration({ maxUses: 1 });
    await expect(
      db.ds.transaction(async (m) => {
        expect(await tokens.consumeRegistrationToken(token, m)).toBeDefined();
        throw new Error('the cluster name is taken');
      }),
    ).rejects.toThrow('the cluster name is taken');
    expect(await consume(token)).toBeDefined();
  });

  it('ensures a token of a given value once; lists newest first; deletes', async () => {
    const value = `${TokenPrefix.Registration}bootstrap-value`;
    await tokens.ensureRegistrationToken(value, 'bootstrap');
    await tokens.ensureRegistrationToken(value, 'bootstrap again');
    const listed = await tokens.listRegistrationTokens();
    const ensured = listed.filter((t) => t.tokenHash === hashToken(value));
    expect(ensured.map((t) => t.description)).toEqual(['bootstrap']);
    expect(listed[0]!.id).toBe(ensured[0]!.id);
    expect(await consume(value)).toMatchObject({ labels: {} });
    await tokens.deleteRegistrationToken(ensured[0]!.id);
    expect(await consume(value)).toBeUndefined();
    await expect(tokens.deleteRegistrationToken(ensured[0]!.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});
