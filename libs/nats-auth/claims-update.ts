import { connect, credsAuthenticator } from '@nats-io/transport-node';

/** The server's request subject for storing an updated account JWT (full resolver). */
export const CLAIMS_UPDATE_SUBJECT = '$SYS.REQ.CLAIMS.UPDATE';

/** A server refused an account JWT update, or none answered. */
export class ClaimsUpdateError extends Error {
  override readonly name = 'ClaimsUpdateError';
}

/**
 * Pushes an account JWT to the NATS servers over `$SYS.REQ.CLAIMS.UPDATE`, as `nsc push` does,
 * as a system-account user: the server stores it in its resolver, passes it on to the other
 * servers of its cluster, applies it, and disconnects users it now revokes. Resolves once a
 * server accepted it.
 *
 * @param servers NATS URL(s), comma-separated like NATS_URL
 * @param systemCredentials a `.creds` file of a system-account user
 */
export async function pushAccountJwt(
  servers: string,
  systemCredentials: string,
  accountJwt: string,
  timeoutMs = 5_000,
): Promise<void> {
  const nc = await connect({
    servers: servers
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    name: 'flotilla-hub/claims-update',
    authenticator: credsAuthenticator(new TextEncoder().encode(systemCredentials)),
    reconnect: false,
    timeout: timeoutMs,
  });
  try {
    let reply;
    try {
      reply = await nc.request(CLAIMS_UPDATE_SUBJECT, accountJwt, { timeout: timeoutMs });
    } catch (err) {
      throw new ClaimsUpdateError(
        `no NATS server answered ${CLAIMS_UPDATE_SUBJECT}: ${(err as Error).message} (is the server's resolver of type full?)`,
        { cause: err },
      );
    }
    const answer = parseAnswer(reply.string());
    if (answer.error !== undefined) {
      throw new ClaimsUpdateError(`the NATS server refused the account JWT: ${answer.error}`);
    }
  } finally {
    await nc.close();
  }
}

/** The server answers `{"data": {"code": 200, ...}}` or `{"error": {"code": 4xx, "description": "..."}}`. */
function parseAnswer(text: string): { error?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: `unreadable answer "${text.slice(0, 200)}"` };
  }
  if (typeof body !== 'object' || body === null) return { error: 'empty answer' };
  const error = (body as { error?: { description?: unknown; code?: unknown } }).error;
  if (error !== undefined) {
    const description = typeof error.description === 'string' ? error.description : 'error';
    const code = typeof error.code === 'number' ? ` (code ${error.code})` : '';
    return { error: `${description}${code}` };
  }
  return {};
}
