import { ApplicationFailure } from '@temporalio/common';
import {
  badInputProblems,
  deployInputSchema,
  jobInputSchema,
  parseInput,
  restoreInputSchema,
  WORKFLOW_INPUT_SCHEMAS,
} from '../../src/common/workflow-inputs';

function refusal(schema: Parameters<typeof parseInput>[0], input: unknown): ApplicationFailure {
  try {
    parseInput(schema, input, 'test');
  } catch (error) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('workflow input schemas', () => {
  it.each([
    ['deploy', { app: 'almareia', ref: 'v1.4.2' }],
    [
      'deploy',
      { app: 'secretaria', ref: 'release/2025-01', params: { tenantId: '42' }, seed: true, requireApproval: false },
    ],
    ['rollback', { app: 'almareia', to: '20250131T070000000Z-1a2b3c4d' }],
    ['backup', { app: 'orquetask', target: 'database' }],
    ['restore', { app: 'orquetask', backup: 'orquetask-database-20261124T050000Z', scratch: true }],
    ['job', { app: 'financial-etl', job: 'daily-processor', from: '2025-01-01', to: '2025-12-31', mode: 'auto' }],
    ['job', { app: 'financial-etl', job: 'daily-processor', date: '2024-02-29', timezone: 'America/Sao_Paulo' }],
    ['inspect', { app: 'almareia' }],
    ['releases', { app: 'almareia' }],
    ['backups', { app: 'almareia' }],
  ])('accepts a good %s input as it is', (type, input) => {
    const schema = WORKFLOW_INPUT_SCHEMAS[type as keyof typeof WORKFLOW_INPUT_SCHEMAS];
    expect(parseInput(schema, input, type)).toEqual(input);
  });

  it('refuses strings for booleans, naming the field and the fix', () => {
    const failure = refusal(restoreInputSchema, { app: 'orquetask', backup: 'orquetask-db-1', scratch: 'true' });
    expect(failure).toMatchObject({ type: 'BadInput', nonRetryable: true });
    expect(failure.message).toBe(
      'test input refused: scratch: expected true or false (a JSON boolean, not a string such as "true")',
    );
    expect(badInputProblems(failure)).toEqual([
      { field: 'scratch', message: 'expected true or false (a JSON boolean, not a string such as "true")' },
    ]);
  });

  it('counts the dates of a range by arithmetic: a range of 366 dates passes, 367 and a millennium do not', () => {
    const job = { app: 'etl', job: 'daily' };
    expect(() => parseInput(jobInputSchema, { ...job, from: '2024-01-01', to: '2024-12-31' }, 'job')).not.toThrow();
    expect(refusal(jobInputSchema, { ...job, from: '2024-01-01', to: '2025-01-01' }).message).toContain(
      'to: 2024-01-01..2025-01-01 is 367 dates, more than 366 in one run; split the range',
    );
    expect(refusal(jobInputSchema, { ...job, from: '1000-01-01', to: '9999-12-31' }).message).toContain(
      '3287182 dates',
    );
  });

  it('never echoes a value, and shows a bad key short and printable', () => {
    const failure = refusal(deployInputSchema, { app: 'a', ref: 'x'.repeat(5_000), [`k\u0000${'y'.repeat(500)}`]: 1 });
    expect(failure.message).not.toContain('xxxxxxxxxx');
    expect(failure.message).toContain('k?yyy');
    expect(failure.message.length).toBeLessThan(600);
  });

  it('refuses ids with ../ or a leading dash', () => {
    expect(refusal(restoreInputSchema, { app: 'shop', backup: '../../etc/passwd' }).message).toContain('backup:');
    expect(refusal(restoreInputSchema, { app: 'shop', backup: '-rf' }).message).toContain('backup:');
    expect(refusal(deployInputSchema, { app: 'shop', ref: '--upload-pack=x' }).message).toContain('ref:');
    expect(refusal(deployInputSchema, { app: 'shop', ref: 'v1', params: { t: '-x' } }).message).toContain('params.t');
  });
});
