import { createHash } from 'node:crypto';
import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { UnauthorizedError } from '../../../libs/db/index.js';

/** Limits of the agent endpoints (per hub replica). */
export const AGENT_RATE_LIMITS = {
  /** Refused agent/registration tokens per client address and minute before it is blocked. */
  failuresPerMinute: 30,
  /** How long an address that exceeded it is refused. */
  blockSeconds: 60,
  /** Bootstraps or registrations with one token per minute (a crash-looping agent, a leak). */
  perTokenPerMinute: 60,
} as const;

/** 429 Too Many Requests; the agent retries it after `Retry-After`. */
export class TooManyRequestsError extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Rate limits of `/api/v1/agent/bootstrap` and `/register`: an address that keeps presenting bad
 * tokens is blocked for a while, and one token cannot be used more than so often. Agents behind
 * one NAT address with good tokens are not limited by each other.
 */
@Injectable()
export class AgentRateLimiter {
  private readonly failures = new RateLimiterMemory({
    keyPrefix: 'agent-failures',
    points: AGENT_RATE_LIMITS.failuresPerMinute,
    duration: 60,
    blockDuration: AGENT_RATE_LIMITS.blockSeconds,
  });
  private readonly perToken = new RateLimiterMemory({
    keyPrefix: 'agent-token',
    points: AGENT_RATE_LIMITS.perTokenPerMinute,
    duration: 60,
  });

  /** Runs `call` for a request from `address` with `token`, or refuses it with a 429. */
  async limit<T>(address: string, token: string, call: () => Promise<T>): Promise<T> {
    const blocked = await this.failures.get(address);
    if (blocked !== null && blocked.consumedPoints > AGENT_RATE_LIMITS.failuresPerMinute) {
      throw this.tooMany(`too many refused tokens from ${address}`, blocked);
    }
    try {
      await this.perToken.consume(sha256(token));
    } catch (res) {
      if (res instanceof RateLimiterRes) throw this.tooMany('this token is used too often', res);
      throw res;
    }
    try {
      return await call();
    } catch (err) {
      if (err instanceof UnauthorizedError) {
        await this.failures.consume(address).catch(() => undefined);
      }
      throw err;
    }
  }

  private tooMany(reason: string, res: RateLimiterRes): TooManyRequestsError {
    const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return new TooManyRequestsError(`${reason}; retry in ${seconds} s`, seconds);
  }
}
