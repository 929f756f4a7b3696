import { spawn } from 'node:child_process';
import path from 'node:path';

/** The `runbook` program as installed: it starts from the CLI's startup snapshot while that is fresh. */
export const PROGRAM = path.resolve(__dirname, '..', '..', 'bin', 'runbook');
/** The CLI's JavaScript entry (`node bin/runbook.js`), which PROGRAM runs when it does not use the snapshot. */
export const CLI = path.resolve(__dirname, '..', '..', 'bin', 'runbook.js');
/** The worker's process entry the systemd unit and the image run. */
export const WORKER_MAIN = path.resolve(__dirname, '..', '..', 'dist', 'workers', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `runbook` program (or another copy of it, `program`; or another entry, `script`, with Node) as
 * a user would, against the test server unless env says otherwise.
 */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; script?: string; program?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, ...argv] = options.script
      ? [process.execPath, options.script, ...args]
      : [options.program ?? PROGRAM, ...args];
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
