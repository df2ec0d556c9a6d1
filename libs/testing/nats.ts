import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** A NATS subject prefix unique to this test run and call, e.g. `t1a2b3c4d.x9f8e`. */
export function testSubjectPrefix(): string {
  return `t${inject('runId')}.x${randomBytes(3).toString('hex')}`;
}
