/**
 * API roles, from least to most privileged. Each role may do everything the roles before it may:
 * - `viewer` reads (clusters, groups, repos, bundles, status, rollouts);
 * - `operator` also acts on what runs (rollout actions, Git syncs);
 * - `admin` also changes the fleet's configuration (registration, repos, groups, tokens).
 */
export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/**
 * Who may call an endpoint: one of the roles, `public` (anyone, e.g. health and webhooks, which
 * check their own signatures) or `agent` (agents, which authenticate with their own tokens).
 */
export type Access = Role | 'public' | 'agent';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** True when a token with role `have` may call an endpoint that needs `need`. */
export function roleSatisfies(have: Role, need: Role): boolean {
  return roles.indexOf(have) >= roles.indexOf(need);
}

/** Outcome of checking a caller against an endpoint's access. */
export type AccessDecision = { allow: true } | { allow: false; status: 401 | 403; message: string };

/**
 * Decides whether a caller may use an endpoint. `caller` is undefined when the request carried no
 * valid API token (none, unknown, expired or revoked); `reason` says which, for the 401 message.
 */
export function decideAccess(
  need: Access,
  caller: { name: string; role: Role } | undefined,
  reason = 'missing or invalid API token',
): AccessDecision {
  if (need === 'public' || need === 'agent') return { allow: true };
  if (caller === undefined) return { allow: false, status: 401, message: reason };
  if (roleSatisfies(caller.role, need)) return { allow: true };
  return {
    allow: false,
    status: 403,
    message: `this needs the ${need} role; API token "${caller.name}" has the ${caller.role} role`,
  };
}
