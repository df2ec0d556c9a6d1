import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Metadata } from '@grpc/grpc-js';
import type { Request } from 'express';
import { type Access, type Role, decideAccess, isRole } from '../../../libs/auth/index.js';
import { ApiTokenRepository, UnauthorizedError } from '../../../libs/db/index.js';
import type { ResolvedHubConfig } from '../../shared/infrastructure.module.js';
import { HUB_CONFIG } from '../../shared/tokens.js';
import { ACCESS_KEY } from '../../shared/access.decorator.js';

/** The caller of a request, once authenticated; put on the request for handlers that want it. */
export interface Caller {
  name: string;
  role: Role;
}

/** gRPC metadata key the guard sets to the caller's token name (never taken from the client). */
export const CALLER_METADATA_KEY = 'x-flotilla-caller';
/** gRPC metadata key the guard sets to the caller's role (never taken from the client). */
export const CALLER_ROLE_METADATA_KEY = 'x-flotilla-caller-role';

/** last_used_at is written at most this often per token and replica. */
const TOUCH_INTERVAL_MS = 60_000;

/** `Authorization: Bearer <token>` from an HTTP header or gRPC metadata value. */
function bearer(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1];
}

/**
 * Checks every REST and gRPC call against the access its handler declares with `@Access` (admin
 * when it declares none): 401 without a valid API token, 403 when the token's role is too low.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokenRepository,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const type = context.getType<'http' | 'rpc'>();
    if (type !== 'http' && type !== 'rpc') return true;
    const metadata = type === 'rpc' ? context.switchToRpc().getContext<Metadata>() : undefined;
    // Only this guard says who the caller is.
    metadata?.remove(CALLER_METADATA_KEY);
    metadata?.remove(CALLER_ROLE_METADATA_KEY);
    const need =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'admin';
    if (need === 'public' || need === 'agent' || this.config.authDisabled) return true;

    const header =
      type === 'http'
        ? context.switchToHttp().getRequest<Request>().headers.authorization
        : metadata?.get('authorization')[0];
    const presented = bearer(header);
    let caller: Caller | undefined;
    let reason = 'missing "Authorization: Bearer <API token>"';
    if (presented !== undefined) {
      const found = await this.tokens.lookup(presented);
      if (found.ok) {
        caller = { name: found.token.name, role: found.token.role };
        this.touch(found.token.id);
      } else {
        reason = found.reason;
      }
    }
    const decision = decideAccess(need, caller, reason);
    if (!decision.allow) {
      if (decision.status === 401) throw new UnauthorizedError(decision.message);
      throw new ForbiddenException(decision.message);
    }
    if (caller !== undefined) {
      if (metadata) {
        metadata.set(CALLER_METADATA_KEY, caller.name);
        metadata.set(CALLER_ROLE_METADATA_KEY, caller.role);
      } else
        (context.switchToHttp().getRequest<Request>() as Request & { caller?: Caller }).caller =
          caller;
    }
    return true;
  }

  /** Records when a token was last used, at most once a minute (a failed write is harmless). */
  private touch(id: string): void {
    const now = Date.now();
    if ((this.touched.get(id) ?? 0) + TOUCH_INTERVAL_MS > now) return;
    this.touched.set(id, now);
    void this.tokens.touch(id, new Date(now)).catch(() => this.touched.delete(id));
  }
}

/** The name of the API token a REST request was authenticated with (undefined with auth off). */
export const CallerName = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | undefined =>
    ctx.switchToHttp().getRequest<Request & { caller?: Caller }>().caller?.name,
);

/** The name of the API token a gRPC call was authenticated with (undefined with auth off). */
export function grpcCallerName(metadata: Metadata | undefined): string | undefined {
  const value = metadata?.get(CALLER_METADATA_KEY)[0];
  return typeof value === 'string' ? value : undefined;
}

/** The role of a REST caller; undefined when authentication is turned off (anyone may do anything). */
export const CallerRole = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Role | undefined =>
    ctx.switchToHttp().getRequest<Request & { caller?: Caller }>().caller?.role,
);

/** The role of a gRPC caller; undefined when authentication is turned off. */
export function grpcCallerRole(metadata: Metadata | undefined): Role | undefined {
  const value = metadata?.get(CALLER_ROLE_METADATA_KEY)[0];
  return isRole(value) ? value : undefined;
}
