import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionOptions, settingsFromEnv } from '../../src/client/connection';
import { UsageError } from '../../src/client/errors';
import { workerOptionsFromEnv, workerTuningFromEnv } from '../../src/workers/options';

/** No config file and no TEMPORAL_* from the test run: only what each case sets. */
const CLEAN = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };

describe('worker options (runbook worker and node dist/workers/main.js)', () => {
  it('reads hosts from RUNBOOK_HOSTS, or RUNBOOK_HOST, and orchestration from RUNBOOK_ORCHESTRATE', () => {
    expect(workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_HOSTS: 'web-1, web-2' })).toMatchObject({
      hosts: ['web-1', 'web-2'],
      orchestrate: true,
    });
    expect(workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_HOST: 'db-1', RUNBOOK_ORCHESTRATE: 'false' })).toMatchObject({
      hosts: ['db-1'],
      orchestrate: false,
    });
    expect(workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_ORCHESTRATE: '' }).hosts).toEqual([os.hostname()]);
  });

  it('lets flags win over the environment', () => {
    const options = workerOptionsFromEnv(
      { host: ['web-9'], orchestrate: false, taskQueue: 'staging' },
      { ...CLEAN, RUNBOOK_HOSTS: 'web-1', RUNBOOK_ORCHESTRATE: 'true', RUNBOOK_TASK_QUEUE: 'runbook' },
    );
    expect(options).toMatchObject({ hosts: ['web-9'], orchestrate: false, settings: { taskQueue: 'staging' } });
  });

  it('refuses a RUNBOOK_ORCHESTRATE that is not a boolean, naming it', () => {
    expect(() => workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_ORCHESTRATE: 'maybe' })).toThrow(
      new UsageError('RUNBOOK_ORCHESTRATE=maybe: expected true or false'),
    );
  });

  it('joins a worker deployment with RUNBOOK_BUILD_ID (or --build-id), named by the task queue unless set', () => {
    expect(workerOptionsFromEnv({}, { ...CLEAN }).version).toBeUndefined();
    expect(workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_BUILD_ID: '0.2.0' }).version).toEqual({
      deploymentName: 'runbook',
      buildId: '0.2.0',
    });
    expect(
      workerOptionsFromEnv({ taskQueue: 'staging' }, { ...CLEAN, RUNBOOK_BUILD_ID: '0.2.0', RUNBOOK_TASK_QUEUE: 'x' })
        .version,
    ).toEqual({ deploymentName: 'staging', buildId: '0.2.0' });
    expect(
      workerOptionsFromEnv(
        { buildId: '0.3.0-rc.1', deployment: 'runbook-eu' },
        { ...CLEAN, RUNBOOK_BUILD_ID: '0.2.0', RUNBOOK_DEPLOYMENT_NAME: 'other' },
      ).version,
    ).toEqual({ deploymentName: 'runbook-eu', buildId: '0.3.0-rc.1' });
  });

  it('refuses a build id or deployment name the server would not take, naming the variable', () => {
    expect(() => workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_BUILD_ID: '0.2.0 beta' })).toThrow(
      new UsageError(
        "RUNBOOK_BUILD_ID (--build-id)=0.2.0 beta: expected letters, digits, '.', '_', '+' or '-' (at most 255, starting with a letter or digit)",
      ),
    );
    expect(() => workerOptionsFromEnv({}, { ...CLEAN, RUNBOOK_BUILD_ID: '1', RUNBOOK_DEPLOYMENT_NAME: 'a/b' })).toThrow(
      /^RUNBOOK_DEPLOYMENT_NAME \(--deployment\)=a\/b: expected letters/,
    );
  });

  it('refuses a worker with nothing to run', () => {
    expect(() => workerOptionsFromEnv({ orchestrate: false }, { ...CLEAN, RUNBOOK_HOSTS: ',' })).toThrow(
      /nothing to run: no host \(--host, RUNBOOK_HOSTS\) and orchestration off/,
    );
  });
});

describe('connection settings (the SDK envconfig)', () => {
  it('defaults to the local dev server over plain TCP', () => {
    const settings = settingsFromEnv({ ...CLEAN });
    expect(settings).toEqual({
      address: 'localhost:7233',
      namespace: 'default',
      uiUrl: 'http://localhost:8233',
      taskQueue: 'runbook',
    });
    expect(connectionOptions(settings)).toEqual({ address: 'localhost:7233' });
  });

  it('sends an API key over TLS with the system CAs, as Temporal Cloud expects', () => {
    const settings = settingsFromEnv({
      ...CLEAN,
      TEMPORAL_ADDRESS: 'ops.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ops.a1b2c',
      TEMPORAL_API_KEY: 'key-123',
    });
    expect(connectionOptions(settings)).toEqual({
      address: 'ops.a1b2c.tmprl.cloud:7233',
      apiKey: 'key-123',
      tls: true,
    });
    expect(settings.namespace).toBe('ops.a1b2c');
  });

  it('takes a profile of the config file, overridden by the environment; an empty variable is unset', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-envconfig-'));
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.prod]',
        'address = "temporal.internal:7233"',
        'namespace = "ops"',
        '[profile.prod.tls]',
        'server_name = "temporal.internal"',
        '[profile.prod.grpc_meta]',
        'x-team = "platform"',
      ].join('\n'),
    );
    const settings = settingsFromEnv({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_NAMESPACE: 'ops-staging',
    });
    expect(settings).toMatchObject({ address: 'temporal.internal:7233', namespace: 'ops-staging' });
    expect(connectionOptions(settings)).toEqual({
      address: 'temporal.internal:7233',
      tls: { serverNameOverride: 'temporal.internal' },
      metadata: { 'x-team': 'platform' },
    });
  });

  it('names the profile and the file of a config file that does not parse', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-envconfig-'));
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(file, '[profile.default]\naddres = "typo:7233"\n');
    expect(() => settingsFromEnv({ TEMPORAL_CONFIG_FILE: file })).toThrow(
      `Temporal connection profile 'default' in ${file}: Validation error: key(s) unrecognized in profile.default: addres`,
    );
  });

  it('reads the worker tuning from RUNBOOK_MAX_* and RUNBOOK_STICKY_QUEUE_TIMEOUT; unset keeps the SDK defaults', () => {
    expect(workerOptionsFromEnv({}, { ...CLEAN }).tuning).toEqual({});
    expect(
      workerTuningFromEnv({
        RUNBOOK_MAX_CONCURRENT_ACTIVITIES: '300',
        RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS: ' 20 ',
        RUNBOOK_MAX_CACHED_WORKFLOWS: '800',
        RUNBOOK_STICKY_QUEUE_TIMEOUT: '1m',
      }),
    ).toEqual({
      maxConcurrentActivityTaskExecutions: 300,
      maxConcurrentWorkflowTaskExecutions: 20,
      maxCachedWorkflows: 800,
      stickyQueueScheduleToStartTimeoutMs: 60_000,
    });
    expect(workerTuningFromEnv({ RUNBOOK_MAX_CACHED_WORKFLOWS: '0' })).toEqual({ maxCachedWorkflows: 0 });
  });

  it('refuses a tuning value that is not a count or duration, or that the SDK would quietly change, naming it', () => {
    expect(() => workerTuningFromEnv({ RUNBOOK_MAX_CONCURRENT_ACTIVITIES: '0' })).toThrow(
      new UsageError('RUNBOOK_MAX_CONCURRENT_ACTIVITIES=0: expected a whole number of at least 1'),
    );
    expect(() => workerTuningFromEnv({ RUNBOOK_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(
      new UsageError('RUNBOOK_MAX_CACHED_WORKFLOWS=lots: expected a whole number of at least 0'),
    );
    expect(() => workerTuningFromEnv({ RUNBOOK_MAX_CACHED_WORKFLOWS: '1' })).toThrow(
      new UsageError('RUNBOOK_MAX_CACHED_WORKFLOWS=1: the workflow cache holds 0 (off) or at least 2 workflows'),
    );
    expect(() =>
      workerTuningFromEnv({ RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS: '50', RUNBOOK_MAX_CACHED_WORKFLOWS: '10' }),
    ).toThrow(
      new UsageError(
        'RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS=50 is more than RUNBOOK_MAX_CACHED_WORKFLOWS=10: a task runs a cached workflow',
      ),
    );
    expect(() => workerTuningFromEnv({ RUNBOOK_STICKY_QUEUE_TIMEOUT: '500ms' })).toThrow(
      new UsageError('RUNBOOK_STICKY_QUEUE_TIMEOUT=500ms: expected a duration of at least 1s such as 10s or 1m'),
    );
  });
});
