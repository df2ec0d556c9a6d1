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

/**
 * PostgreSQL's SQLSTATE of an error from `pg` or TypeORM (which keeps the driver's error as
 * `driverError`), or undefined for other errors.
 */
export function postgresErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null | undefined;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for PostgreSQL's unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  return postgresErrorCode(err) === '23505';
}

/**
 * True for PostgreSQL's data exceptions (SQLSTATE class 22): a value it cannot store, such as a
 * NUL character in a string (`\u0000` in JSON) or a lone UTF-16 surrogate. Sending the same
 * values again fails the same way.
 */
export function isDataException(err: unknown): boolean {
  return postgresErrorCode(err)?.startsWith('22') ?? false;
}
