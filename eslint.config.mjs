// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** The client and the CLI start workflows by name and read their types; they never run their code. */
const activitiesAndWorkflowsByType = {
  group: ['**/activities', '**/activities/*', '**/workflows', '**/workflows/*'],
  allowTypeImports: true,
  message:
    'the client and the CLI import activities and workflows with `import type` only: move a shared pure function to src/common or src/manifest',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', '.artifacts/', 'coverage/', '.containers/'] },
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
    // src/common is imported by workflows, so the same rules hold there.
    files: ['src/workflows/**/*.ts', 'src/common/**/*.ts'],
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
              group: ['../activities', '../activities/*', '../manifest/*', '../client/*'],
              allowTypeImports: true,
              message: 'workflows and src/common import activities, manifests and client types with `import type` only',
            },
            {
              regex: '^(\\.\\./)+(cli|workers|devserver)(/|$)',
              message: 'workflows and src/common never import the programs (CLI, workers, dev harness), even as types',
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
    // Activities do the work the workflows ask for (with the client library when they talk to Temporal); the
    // manifest layer is pure. Neither knows who calls them.
    files: ['src/activities/**/*.ts', 'src/manifest/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(workflows|cli|workers|devserver)(/|$)',
              message:
                'activities and src/manifest are imported by workflows, workers and the CLI, never the other way: move a shared rule to src/common',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [activitiesAndWorkflowsByType],
        },
      ],
    },
  },
  {
    // `runbook --help` and `runbook validate` must start at once: the Temporal SDK, the connection, the dev
    // server, the worker, the I/O libraries and the manifest loader (YAML, the zod schema) are loaded by the
    // command that uses them (`await import(...)`).
    files: ['src/cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['pg', 'ioredis', 'nodemailer', '@sendgrid/mail', 'tar', 'yazl', 'yauzl'].map((name) => ({
            name,
            allowTypeImports: true,
            message: 'load it inside the command that needs it: `await import(...)`',
          })),
          patterns: [
            activitiesAndWorkflowsByType,
            {
              group: [
                '@temporalio/*',
                '**/client/codec',
                '**/client/codec-server',
                '**/client/connection',
                '**/client/runs',
                '**/client/schedules',
                '**/client/index',
                '**/devserver/*',
                '**/workers/*',
                '**/manifest/json-schema',
                '**/manifest/lookup',
                '**/manifest/load',
                '**/manifest/schema',
              ],
              allowTypeImports: true,
              message:
                'the CLI loads this inside the command that needs it (`await import(...)`), so --help stays fast',
            },
          ],
        },
      ],
    },
  },
  {
    // The startup snapshot's entry loads them on purpose, once, when the snapshot is built (src/cli/snapshot.ts).
    files: ['src/cli/snapshot.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  {
    // The library prints nothing and starts nothing local: it needs none of the CLI, harness or workers.
    files: ['src/client/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            activitiesAndWorkflowsByType,
            {
              group: ['**/cli', '**/cli/*', '**/devserver', '**/devserver/*', '**/workers', '**/workers/*'],
              message: 'the client library is imported by the CLI, the harness and scripts, never the other way',
            },
          ],
        },
      ],
    },
  },
  {
    // Every failure type is a row of src/common/failures.ts, so the workflows' non-retryable lists stay complete.
    files: ['src/**/*.ts'],
    ignores: ['src/common/failures.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "MemberExpression[object.name='ApplicationFailure'][property.name=/^(nonRetryable|retryable|create)$/]",
          message:
            "throw failure('<Type>', message) with a type from src/common/failures.ts (add a row for a new kind)",
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
