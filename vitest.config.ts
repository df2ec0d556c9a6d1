import { defineConfig } from 'vitest/config';

// Three tiers: unit (pure logic), medium (real PostgreSQL and NATS), e2e (the hub and agents
// as a user runs them). The global setup gives each run its own database and subject prefix.
export default defineConfig({
  test: {
    globalSetup: ['libs/testing/global-setup.ts'],
    // Generous limits: they only catch a hang. Tests assert behaviour, never how fast it is (a
    // loaded machine is slow); timing targets belong in `npm run bench`.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    expect: { poll: { timeout: 60_000 } },
    // Most test files wait on PostgreSQL, NATS and spawned processes rather than computing, and
    // each uses its own database, subject prefix, ports and directories: two run at once even on
    // 2 cores (vitest's default there is one).
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'libs/**/*.spec.ts',
            'agents/**/*.spec.ts',
            'services/**/*.spec.ts',
            'cli/**/*.spec.ts',
          ],
          exclude: ['**/*.medium.spec.ts', '**/*.e2e.spec.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'medium',
          include: ['**/*.medium.spec.ts'],
          exclude: ['node_modules/**', 'dist/**'],
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.e2e.spec.ts'] },
      },
    ],
  },
});
