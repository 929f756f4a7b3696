// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', '.artifacts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Workflows are replayed: no I/O, no clocks or randomness outside the SDK, activities by type only.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'workflows are deterministic: do I/O in an activity' })),
            ...[
              'pg',
              'ioredis',
              'nodemailer',
              '@sendgrid/mail',
              'yaml',
              '@temporalio/activity',
              '@temporalio/client',
              '@temporalio/worker',
              '@temporalio/testing',
            ].map((name) => ({ name, message: 'not allowed in workflow code: call an activity instead' })),
          ],
          patterns: [
            {
              group: [
                '../activities',
                '../activities/*',
                '../manifest/*',
                '../client/*',
                '../workers/*',
                '../devserver/*',
              ],
              allowTypeImports: true,
              message: 'workflows import activities and manifests with `import type` only',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'use workflowNow() from ./clock (replay-safe)' },
        { object: 'Math', property: 'random', message: 'use uuid4() from @temporalio/workflow' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'no environment in workflows: read it in an activity' },
        { name: 'fetch', message: 'no network in workflows: use an activity' },
        { name: 'setInterval', message: 'use sleep() from @temporalio/workflow' },
        { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' },
        { name: 'require', message: 'import workflow dependencies statically' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
