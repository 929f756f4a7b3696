import { isWaitingEvent } from '../../common/notify-events';
import type { Outcome, RunReport, StepProgress } from '../../common/progress';

/** A notification as every channel renders it: e-mail subject and parts, webhook text. */
export interface NotificationMessage {
  event: string;
  /** "financial-etl: job daily-processor FAILED": app, action and outcome. */
  title: string;
  subject: string;
  text: string;
  html: string;
  /** The run's page in the Temporal Web UI. */
  url: string;
}

const OUTCOME_WORDS: Record<Outcome, string> = {
  succeeded: 'succeeded',
  rolled_back: 'ROLLED BACK',
  failed: 'FAILED',
  cancelled: 'cancelled',
  unreachable: 'HOST UNREACHABLE',
};

const STEP_WORDS: Record<StepProgress['status'], string> = {
  pending: 'not run',
  running: 'running',
  succeeded: 'OK',
  failed: 'FAILED',
  skipped: 'skipped',
  compensating: 'undoing',
  compensated: 'undone',
  waiting: 'waiting',
};

/** What the run did, in words: "deploy v1.4", "backup audit", "job daily-processor". */
export function actionOf(report: RunReport): string {
  const detail = (name: string) =>
    typeof report.details?.[name] === 'string' ? (report.details[name] as string) : undefined;
  const label =
    report.kind === 'job'
      ? detail('job')
      : report.kind === 'backup' || report.kind === 'restore'
        ? (detail('target') ?? report.ref)
        : report.ref;
  return label ? `${report.kind} ${label}` : report.kind;
}

export function composeMessage(report: RunReport, event: string, url: string): NotificationMessage {
  const state = isWaitingEvent(event) ? 'WAITING FOR A DECISION' : OUTCOME_WORDS[report.outcome];
  const title = report.title ?? `${report.app}: ${actionOf(report)} ${state}`;
  const subject = `[runbook] ${title}${report.summary ? ` — ${oneLine(report.summary, 120)}` : ''}`;
  return { event, title, subject, text: textBody(report, title, url), html: htmlBody(report, title, url), url };
}

function textBody(report: RunReport, title: string, url: string): string {
  const lines = [title, '='.repeat(Math.min(title.length, 72)), '', report.summary, ''];
  if (report.error) lines.push('What went wrong:', ...indent(report.error), '');
  if (report.steps.length > 0) {
    lines.push('Steps:');
    const width = Math.max(...report.steps.map((s) => s.name.length));
    for (const step of report.steps) {
      const message = step.message ? `  ${oneLine(step.message, 160)}` : '';
      lines.push(
        `  ${STEP_WORDS[step.status].padEnd(8)} ${step.name.padEnd(width)}  ${formatDuration(step.durationMs).padStart(8)}${message}`,
      );
    }
    lines.push('');
  }
  lines.push(`Run: ${report.workflowId} (run ${report.runId})`);
  lines.push(`Started ${report.startedAt}, finished ${report.finishedAt} (${formatDuration(elapsed(report))})`);
  lines.push(`Temporal Web UI: ${url}`, '');
  return lines.join('\n');
}

function htmlBody(report: RunReport, title: string, url: string): string {
  const colour = report.outcome === 'succeeded' ? '#1a7f37' : report.outcome === 'cancelled' ? '#6e7781' : '#cf222e';
  const rows = report.steps
    .map(
      (s) =>
        `<tr><td style="padding:2px 8px;color:${s.status === 'failed' ? '#cf222e' : 'inherit'}">${escapeHtml(STEP_WORDS[s.status])}</td>` +
        `<td style="padding:2px 8px">${escapeHtml(s.name)}</td>` +
        `<td style="padding:2px 8px;text-align:right">${escapeHtml(formatDuration(s.durationMs))}</td>` +
        `<td style="padding:2px 8px">${escapeHtml(s.message ? oneLine(s.message, 200) : '')}</td></tr>`,
    )
    .join('');
  return [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2 style="color:${colour}">${escapeHtml(title)}</h2>`,
    `<p>${escapeHtml(report.summary)}</p>`,
    report.error
      ? `<h3>What went wrong</h3><pre style="background:#f6f8fa;padding:8px;white-space:pre-wrap">${escapeHtml(report.error)}</pre>`
      : '',
    rows ? `<h3>Steps</h3><table style="border-collapse:collapse">${rows}</table>` : '',
    `<p>Run <code>${escapeHtml(report.workflowId)}</code> (run <code>${escapeHtml(report.runId)}</code>), started ${escapeHtml(report.startedAt)}, took ${escapeHtml(formatDuration(elapsed(report)))}.</p>`,
    `<p><a href="${escapeHtml(url)}">Open the run in the Temporal Web UI</a></p>`,
    '</body></html>',
  ].join('\n');
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${String(Math.round((ms % 60_000) / 1_000)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

export function oneLine(text: string, max: number): string {
  const first = text.trim().split('\n')[0];
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

function indent(text: string): string[] {
  return text.split('\n').map((line) => `  ${line}`);
}

function elapsed(report: RunReport): number {
  return Date.parse(report.finishedAt) - Date.parse(report.startedAt);
}
