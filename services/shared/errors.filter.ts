import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Response } from 'express';
import { throwError, type Observable } from 'rxjs';
import { ZodError } from 'zod';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  UnauthorizedError,
  postgresErrorCode,
} from '../../libs/db/errors.js';
import { SelectorError } from '../../libs/selectors/index.js';

/** HTTP status and message for an error, or undefined for an unexpected one (a 500). */
export function classifyError(err: unknown): { status: number; message: string } | undefined {
  if (err instanceof HttpException) {
    const body = err.getResponse();
    const raw = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    const message = Array.isArray(raw)
      ? raw.map(String).join('; ')
      : typeof raw === 'string'
        ? raw
        : err.message;
    return { status: err.getStatus(), message };
  }
  if (err instanceof NotFoundError) return { status: 404, message: err.message };
  if (err instanceof ConflictError) return { status: 409, message: err.message };
  if (err instanceof UnauthorizedError) return { status: 401, message: err.message };
  if (err instanceof ForbiddenError) return { status: 403, message: err.message };
  if (err instanceof InvalidInputError || err instanceof SelectorError) {
    return { status: 400, message: err.message };
  }
  if (err instanceof ZodError) {
    return {
      status: 400,
      message: err.issues
        .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
        .join('; '),
    };
  }
  // PostgreSQL refusing text no request should carry (a NUL byte, bytes that are not UTF-8):
  // the input's fault, wherever it slipped past the checks in front.
  const pgCode = postgresErrorCode(err);
  if (pgCode === '22021' || pgCode === '22P05') {
    return { status: 400, message: 'input holds characters that cannot be stored (a NUL byte?)' };
  }
  // Errors raised by the HTTP body parser carry their status (400 malformed JSON, 413 too large).
  const e = err as { type?: unknown; status?: unknown; message?: unknown };
  if (
    typeof e.type === 'string' &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 500
  ) {
    const message =
      e.type === 'entity.parse.failed'
        ? `malformed JSON body${jsonErrorPosition(String(e.message))}`
        : e.type === 'entity.too.large'
          ? 'request body is too large'
          : String(e.message);
    return { status: e.status, message };
  }
  return undefined;
}

/**
 * Where JSON.parse failed, e.g. ` at position 38`. Only that: V8's messages quote the input
 * (`"hunter2..." is not valid JSON`), and a body may carry passwords and tokens.
 */
function jsonErrorPosition(message: string): string {
  const m = /at position (\d+)/.exec(message);
  return m ? ` at position ${m[1]}` : '';
}

const grpcCodes: Record<number, GrpcStatus> = {
  400: GrpcStatus.INVALID_ARGUMENT,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.NOT_FOUND,
  409: GrpcStatus.ALREADY_EXISTS,
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  429: GrpcStatus.RESOURCE_EXHAUSTED,
  503: GrpcStatus.UNAVAILABLE,
};

/**
 * Every error leaves as `{statusCode, error, message}` (REST) or a gRPC status with the same
 * message: 4xx for what the caller did wrong, 500 only for our own faults (logged, not leaked).
 */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(err: unknown, host: ArgumentsHost): Observable<never> | void {
    const known = classifyError(err);
    if (!known) this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    const status = known?.status ?? 500;
    const message = known?.message ?? 'internal error';
    if (host.getType() === 'rpc') {
      return throwError(() => ({ code: grpcCodes[status] ?? GrpcStatus.INTERNAL, message }));
    }
    const res = host.switchToHttp().getResponse<Response>();
    const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (status === 429 && typeof retryAfter === 'number') res.setHeader('retry-after', retryAfter);
    res.status(status).json({
      statusCode: status,
      error: (HttpStatus[status] ?? 'Error')
        .toString()
        .split('_')
        .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
        .join(' '),
      message,
    });
  }
}
