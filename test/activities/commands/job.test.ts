import { jobArgv, jobEnvironment, type JobTemplateValues } from '../../../src/activities/commands/job';

const values: JobTemplateValues = {
  app: 'financial-etl',
  root: '/srv/financial-etl',
  date: '2025-12-02',
  from: '2025-12-01',
  to: '2025-12-03',
  logicalDate: '2026-01-08',
  mode: 'manual',
  params: { tenantId: '42' },
};

const processor = {
  name: 'daily-processor',
  run: [
    'venv/bin/python',
    'src/financial_etl/automation/daily_processor.py',
    '--modo',
    '{{mode}}',
    '--data-inicio',
    '{{date}}',
    '--data-fim',
    '{{date}}',
  ],
};

describe('job command argv', () => {
  it("fills in the guide's --modo and dates for one date, element by element", () => {
    expect(jobArgv(processor, values)).toEqual([
      'venv/bin/python',
      'src/financial_etl/automation/daily_processor.py',
      '--modo',
      'manual',
      '--data-inicio',
      '2025-12-02',
      '--data-fim',
      '2025-12-02',
    ]);
  });

  it('splits a string command into words, keeps a value with spaces as one argument and drops an element whose value is unset', () => {
    const job = {
      name: 'rotate',
      run: 'bin/rotate --tenant-id={{tenantId}} --slug={{tenantSlug}} --note "{{mode}} run"',
    };
    expect(jobArgv(job, { ...values, mode: 'dry run' })).toEqual([
      'bin/rotate',
      '--tenant-id=42',
      '--note',
      'dry run run',
    ]);
  });

  it('runs a shell job as fixed text through /bin/sh -c', () => {
    expect(jobArgv({ name: 'logs', run: 'find logs -name "*.log" -mtime +7 -delete', shell: true }, values)).toEqual([
      '/bin/sh',
      '-c',
      'find logs -name "*.log" -mtime +7 -delete',
    ]);
  });

  it('offers the same values as environment variables', () => {
    expect(jobEnvironment(values)).toEqual({
      RUNBOOK_JOB_DATE: '2025-12-02',
      RUNBOOK_JOB_FROM: '2025-12-01',
      RUNBOOK_JOB_TO: '2025-12-03',
      RUNBOOK_JOB_LOGICAL_DATE: '2026-01-08',
      RUNBOOK_JOB_MODE: 'manual',
    });
  });
});
