import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A value that must never reach a log, an API response or an error message. `reveal()` gives
 * it to the one place that needs it (a Git request header, a signature check); everything
 * else — `JSON.stringify`, template strings, `console.log`, `util.inspect` — sees `[redacted]`.
 */
export class Secret<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The secret itself: pass it on, never log it. */
  reveal(): T {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
