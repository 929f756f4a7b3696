import { isWaitingEvent } from '../../common/notify-events';
import type { RunReport } from '../../common/progress';
import { readBody } from '../http-body';
import { ChannelError, type SendReceipt, type WebhookSettings } from './channels';
import { formatDuration, oneLine, type NotificationMessage } from './message';

/** The JSON a `format: json` webhook receives: the run's report with its event, title and link. */
export function jsonPayload(report: RunReport, message: NotificationMessage, key: string): Record<string, unknown> {
  return {
    event: message.event,
    idempotencyKey: key,
    title: message.title,
    app: report.app,
    kind: report.kind,
    outcome: isWaitingEvent(message.event) ? 'waiting' : report.outcome,
    summary: report.summary,
    error: report.error ?? null,
    url: message.url,
    workflowId: report.workflowId,
    runId: report.runId,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    ref: report.ref ?? null,
    release: report.release ?? null,
    steps: report.steps,
    details: report.details ?? {},
  };
}

const ICONS: Record<RunReport['outcome'], string> = {
  succeeded: ':white_check_mark:',
  rolled_back: ':rewind:',
  failed: ':x:',
  cancelled: ':heavy_minus_sign:',
  unreachable: ':electric_plug:',
};

/** Slack's incoming-webhook message: `text` for notifications and old clients, `blocks` for the layout. */
export function slackPayload(report: RunReport, message: NotificationMessage): { text: string; blocks: unknown[] } {
  const steps = report.steps
    .map(
      (s) =>
        `${s.status === 'failed' ? ':x:' : s.status === 'succeeded' ? ':white_check_mark:' : '•'} ${s.name} — ${s.status} (${formatDuration(s.durationMs)})`,
    )
    .join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: oneLine(message.title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: limit(`${ICONS[report.outcome]} ${report.summary}`) } },
  ];
  if (report.error)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: limit(`*What went wrong*\n\`\`\`${report.error}\`\`\``) },
    });
  if (steps) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: limit(`*Steps*\n${steps}`) } });
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `<${message.url}|Open the run in the Temporal Web UI> · \`${report.workflowId}\`` },
    ],
  });
  return { text: `${message.title}: ${oneLine(report.summary, 200)}`, blocks };
}

/** Slack refuses a section longer than 3000 characters. */
function limit(text: string): string {
  return text.length > 2_900 ? `${text.slice(0, 2_880)}…` : text;
}

/**
 * Posts a payload; a 2xx answer is acceptance. The Idempotency-Key header lets a receiver drop the resend
 * of the crash window. The URL is a secret (Slack's carries a token): no error message includes it.
 */
export async function postWebhook(
  url: string,
  settings: WebhookSettings,
  payload: unknown,
  key: string,
): Promise<SendReceipt> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key, 'User-Agent': 'runbook-notify' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new ChannelError(`the webhook in ${settings.urlEnv} could not be reached: ${cause}`, false);
  }
  const body = (await readBody(response, 4_096).catch(() => ({ text: '' }))).text.slice(0, 300);
  if (response.ok) return { providerId: response.headers.get('x-request-id') ?? undefined };
  const permanent =
    response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
  throw new ChannelError(
    `the webhook in ${settings.urlEnv} answered ${response.status}${body ? `: ${oneLine(body, 200)}` : ''}${permanent ? `; check ${settings.urlEnv}` : ''}`,
    permanent,
  );
}
