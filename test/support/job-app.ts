import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

// The guide's daily_processor.py, reduced to what Runbook sees: it records its argv, prints, and fails
// (exit 3) for the dates listed in FAKE_PROCESSOR_FAIL_DATES, and hangs (writing its pid) for FAKE_PROCESSOR_SLOW_DATES.
const PROCESSOR = `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_PROCESSOR_LOG, JSON.stringify(args) + '\\n');
const date = args[args.indexOf('--data-inicio') + 1];
console.log('processing ' + date + ' in mode ' + args[args.indexOf('--modo') + 1]);
if ((process.env.FAKE_PROCESSOR_SLOW_DATES || '').split(',').includes(date)) {
  fs.writeFileSync(process.env.FAKE_PROCESSOR_LOG + '.' + date + '.pid', String(process.pid));
  setTimeout(() => undefined, 600000);
} else if ((process.env.FAKE_PROCESSOR_FAIL_DATES || '').split(',').includes(date)) {
  console.error('divergence source for ' + date + ' is missing');
  process.exit(3);
}
`;

export interface JobApp {
  app: string;
  host: string;
  dir: string;
  manifestsDir: string;
  /** The argv of every run of the fake processor, in the order they started. */
  invocations(): string[][];
  /** The pid of the processor hanging on a slow date, once it started. */
  slowPid(date: string): number | undefined;
}

export interface JobAppOptions {
  app: string;
  host: string;
  failDates?: string[];
  /** Dates the processor never finishes (until it is stopped). */
  slowDates?: string[];
  /** The app's .env file (SMTP_HOST, NOTIFICATION_RECIPIENTS, ...). */
  env?: Record<string, string>;
  notify?: unknown;
  job?: Record<string, unknown>;
  /** Write the manifest into this folder (shared by several apps) instead of the app's own. */
  manifestsDir?: string;
  /** More top-level manifest fields (schedules, ...). */
  manifest?: Record<string, unknown>;
  /** One call for a whole range (`range: whole`, --data-inicio {{from}} --data-fim {{to}}), as the guide's test. */
  wholeRange?: boolean;
}

/** A temp folder holding an app manifest with the daily-processor job of the Financial ETL guide. */
export function createJobApp(options: JobAppOptions): JobApp {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${options.app}-`));
  const manifestsDir = options.manifestsDir ?? path.join(dir, 'manifests');
  mkdirSync(manifestsDir, { recursive: true });
  const script = path.join(dir, 'daily_processor.js');
  writeFileSync(script, PROCESSOR, { mode: 0o755 });
  const log = path.join(dir, 'argv.log');
  const envFile = path.join(dir, '.env');
  writeFileSync(
    envFile,
    Object.entries(options.env ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  const manifest = {
    app: options.app,
    host: options.host,
    root: dir,
    source: { type: 'git', repo: path.join(dir, 'repo.git') },
    env: { file: envFile },
    notify: options.notify ?? { on: ['job.summary'], channels: [] },
    jobs: [
      {
        name: 'daily-processor',
        run: options.wholeRange
          ? [process.execPath, script, '--modo', '{{mode}}', '--data-inicio', '{{from}}', '--data-fim', '{{to}}']
          : [process.execPath, script, '--modo', '{{mode}}', '--data-inicio', '{{date}}', '--data-fim', '{{date}}'],
        ...(options.wholeRange ? { range: 'whole' } : {}),
        cwd: dir,
        env: {
          FAKE_PROCESSOR_LOG: log,
          FAKE_PROCESSOR_FAIL_DATES: (options.failDates ?? []).join(','),
          FAKE_PROCESSOR_SLOW_DATES: (options.slowDates ?? []).join(','),
        },
        modes: ['manual', 'auto'],
        defaultMode: 'auto',
        concurrency: 2,
        timeout: '1m',
        retries: 1,
        ...options.job,
      },
    ],
    ...options.manifest,
  };
  writeFileSync(path.join(manifestsDir, `${options.app}.yaml`), stringify(manifest));
  return {
    slowPid: (date) =>
      existsSync(`${log}.${date}.pid`) ? Number(readFileSync(`${log}.${date}.pid`, 'utf8')) : undefined,
    app: options.app,
    host: options.host,
    dir,
    manifestsDir,
    invocations: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as string[])
        : [],
  };
}
