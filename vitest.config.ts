import { defineConfig } from 'vitest/config';

// Three tiers: unit (pure logic), medium (real PostgreSQL and NATS), e2e (the hub and agents
// as a user runs them). The global setup gives each run its own database and subject prefix.
export default defineConfig({
  test: {
    globalSetup: ['libs/testing/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
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
