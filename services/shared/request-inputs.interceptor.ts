import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { InvalidInputError } from '../../libs/db/errors.js';

/** Deepest nesting of a gRPC request message that is checked (proto messages are shallow). */
const MAX_DEPTH = 16;

/** Throws a 400 naming `where` when `value` holds a NUL byte (PostgreSQL text cannot). */
function checkText(where: string, value: string): void {
  if (value.includes('\u0000')) throw new InvalidInputError(`${where} must not contain a NUL byte`);
}

/**
 * Checks the path parameters and query string of a REST request: every query parameter given at
 * most once, as a plain value, and no NUL byte anywhere. Throws InvalidInputError (a 400).
 */
export function checkHttpInputs(params: unknown, query: unknown): void {
  for (const [name, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string') checkText(`path parameter ${name}`, value);
  }
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    checkText('a query parameter name', name);
    if (Array.isArray(value)) {
      throw new InvalidInputError(`query parameter ${name} is given more than once; give it once`);
    }
    if (typeof value !== 'string') {
      throw new InvalidInputError(`query parameter ${name} must be a plain value`);
    }
    checkText(`query parameter ${name}`, value);
  }
}

/** Checks every string of a gRPC request message (and map keys) for NUL bytes. */
export function checkRpcInputs(message: unknown, path = '', depth = 0): void {
  if (typeof message === 'string') {
    checkText(path || 'the request', message);
    return;
  }
  if (typeof message !== 'object' || message === null || depth > MAX_DEPTH) return;
  if (Array.isArray(message)) {
    message.forEach((item, i) => checkRpcInputs(item, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const [key, value] of Object.entries(message)) {
    checkText(`a key of ${path || 'the request'}`, key);
    checkRpcInputs(value, path ? `${path}.${key}` : key, depth + 1);
  }
}

/**
 * The one place that refuses what no handler can use, before any handler runs, on REST and
 * gRPC alike: a NUL byte in a path parameter, query parameter or gRPC field (PostgreSQL cannot
 * store or compare it), and a repeated or nested query parameter (handlers take one string).
 * Each is the caller's fault: a 400 / INVALID_ARGUMENT with a message, never a 500.
 */
@Injectable()
export class RequestInputsInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const req = context.switchToHttp().getRequest<Request>();
      checkHttpInputs(req.params, req.query);
    } else if (context.getType() === 'rpc') {
      checkRpcInputs(context.switchToRpc().getData());
    }
    return next.handle();
  }
}
