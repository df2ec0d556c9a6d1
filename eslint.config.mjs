// ESLint with type information. Boundaries: libs/ stay framework-free, services never import
// one another (only services/shared and, for the composition root, services/hub may), and the
// agent meets the hub only through libs/ (contracts) and proto/.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const serviceNames = ['api', 'status', 'resolver', 'rollouts'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-bench/**',
      'node_modules/**',
      'coverage/**',
      '.flotilla/**',
      'bin/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'web/vite.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    // No import cycles: a module that needs its importer means the two are one concept (merge
    // them) or share a third (move it out).
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['libs/**/*.ts'],
    ignores: ['libs/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*'], message: 'libs/ is framework-free: wire NestJS in services/.' },
            {
              group: ['**/services/**', '**/agents/**', '**/cli/**'],
              message: 'libs/ must not depend on services, agents or the CLI.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['agents/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '@nestjs/*'],
              message: 'The agent shares only libs/ (contracts) and proto/ with the hub.',
            },
          ],
        },
      ],
    },
  },
  {
    // The web dashboard (React, built by Vite into dist/web): it shares only the API's response
    // types with the hub (libs/contracts/api-views.ts) and the import-free drift formatting
    // (libs/contracts/drift-view.ts), never server code.
    files: ['web/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
  {
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./.*(services|agents|cli|libs/(?!contracts/(api-views|drift-view)))',
              message:
                'The dashboard reads the REST API: import only libs/contracts/api-views or drift-view.',
            },
          ],
        },
      ],
    },
  },
  ...serviceNames.map((name) => ({
    files: [`services/${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...serviceNames
                  .filter((n) => n !== name)
                  .flatMap((n) => [`../${n}/*`, `**/services/${n}/*`]),
                '../hub/*',
                '**/agents/**',
              ],
              message: 'Services never import each other: talk through NATS and PostgreSQL.',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['**/*.spec.ts', 'libs/testing/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
