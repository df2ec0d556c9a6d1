import { describe, expect, it } from 'vitest';
import { isDataException, isUniqueViolation, postgresErrorCode } from './errors.js';

describe('PostgreSQL error codes', () => {
  it.each([
    ['a pg error', { code: '23505' }, '23505', true, false],
    [
      'a TypeORM QueryFailedError (driverError)',
      { driverError: { code: '23505' } },
      '23505',
      true,
      false,
    ],
    ['a NUL character in text', { code: '22021' }, '22021', false, true],
    [
      'a lone surrogate in JSON, via TypeORM',
      { driverError: { code: '22P05' } },
      '22P05',
      false,
      true,
    ],
    [
      'a Node system error (not SQLSTATE-shaped but a string)',
      { code: 'ECONNREFUSED' },
      'ECONNREFUSED',
      false,
      false,
    ],
    ['a numeric code', { code: 22 }, undefined, false, false],
    ['no code', new Error('boom'), undefined, false, false],
    ['not an object', undefined, undefined, false, false],
  ])('%s', (_name, err, code, unique, data) => {
    expect(postgresErrorCode(err)).toBe(code);
    expect(isUniqueViolation(err)).toBe(unique);
    expect(isDataException(err)).toBe(data);
  });
});
