/** The named thing does not exist (maps to 404). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The request conflicts with what exists, e.g. a duplicate name (maps to 409). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** The caller's input is invalid (maps to 400). */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}

/** Credentials are missing, unknown, expired or used up (maps to 401). */
export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError';
}

/** The credentials are valid but do not allow what was asked (maps to 403). */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}

/** True for PostgreSQL's unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  return e.code === '23505' || e.driverError?.code === '23505';
}
