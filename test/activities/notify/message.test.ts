import { composeMessage, formatDuration } from '../../../src/activities/notify/message';
import { backupReport, deployReport, jobReport } from './reports';

const URL = 'http://ui:8233/namespaces/default/workflows/deploy-almareia/run-1/history';

describe('notification message', () => {
  it('names app, action and outcome in the subject of every kind of run', () => {
    expect(composeMessage(deployReport('succeeded'), 'deploy.succeeded', URL).subject).toBe(
      '[runbook] almareia: deploy v1.4 succeeded — v1.4 is live',
    );
    expect(composeMessage(deployReport('rolled_back'), 'deploy.rolled_back', URL).subject).toBe(
      '[runbook] almareia: deploy v1.4 ROLLED BACK — v1.4 rolled back to v1.3: health check /login answered 500',
    );
    expect(composeMessage(deployReport('failed'), 'deploy.failed', URL).title).toBe('almareia: deploy v1.4 FAILED');
    expect(composeMessage(backupReport('succeeded'), 'backup.succeeded', URL).title).toBe(
      'financial-etl: backup audit succeeded',
    );
    expect(composeMessage(backupReport('failed'), 'backup.failed', URL).title).toBe(
      'financial-etl: backup audit FAILED',
    );
    expect(composeMessage(jobReport(), 'job.summary', URL).title).toBe('financial-etl: job daily-processor FAILED');
  });

  it('lists steps with timings, the error to act on and the Web UI link in the text part', () => {
    const { text } = composeMessage(deployReport('rolled_back'), 'deploy.rolled_back', URL);
    expect(text).toContain(
      'What went wrong:\n  health check /login answered 500 within 60s; the previous release v1.3 is back. See logs/app.log.',
    );
    expect(text).toMatch(/OK\s+install requirements\s+1m 01s/);
    expect(text).toMatch(/FAILED\s+health\s+20\.0s\s+\/login answered 500/);
    expect(text).toMatch(/undone\s+restore snapshot/);
    expect(text).toContain(`Temporal Web UI: ${URL}`);
    expect(text).toContain('Run: deploy-almareia (run run-1)');
  });

  it('escapes what the run reported in the HTML part', () => {
    const { html } = composeMessage(deployReport('rolled_back'), 'deploy.rolled_back', URL);
    expect(html).toContain('/login answered 500 &lt;Internal Server Error&gt;');
    expect(html).not.toContain('<Internal Server Error>');
    expect(html).toContain(`<a href="${URL}">Open the run in the Temporal Web UI</a>`);
  });

  it('formats durations for people', () => {
    expect([
      formatDuration(850),
      formatDuration(12_340),
      formatDuration(245_000),
      formatDuration(3_720_000),
      formatDuration(undefined),
    ]).toEqual(['850ms', '12.3s', '4m 05s', '1h 02m', '-']);
  });
});
