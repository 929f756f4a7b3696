import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import pc from 'picocolors';
import type { Output } from '../output';
import { startDevEnvironment, stopOnSignals, type DevEnvironment } from '../dev-environment';
import { RunFailedError } from '../errors';
import { freePort } from '../../devserver/ports';
import { portNumber } from './dev';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'bin', 'runbook.js');
const DEMO_MANIFESTS = path.join(ROOT, 'examples');

/** One act of the demo: a real `runbook` command and the exit code it should end with. */
interface Act {
  title: string;
  args: string[];
  expectExit: number;
}

const ACTS: Act[] = [{ title: "a worker loads and checks almareia's manifest (the inspect workflow)", args: ['inspect', 'almareia'], expectExit: 0 }];

function runAct(act: Act, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...act.args], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export function demoCommand(output: Output): Command {
  return new Command('demo')
    .description('start `runbook dev` on free ports and walk through runs with the real CLI, printing each Web UI link')
    .option('--port <port>', 'gRPC port of the dev server (default a free one)', portNumber)
    .option('--ui-port <port>', 'port of the Web UI (default a free one)', portNumber)
    .option('--keep-running', 'leave the dev server and worker up after the demo, until Ctrl-C, to browse the runs')
    .addHelpText('after', '\nExamples:\n  $ make demo\n  $ runbook demo --keep-running')
    .action(async (options: { port?: number; uiPort?: number; keepRunning?: boolean }) => {
      const say = (line: string) => output.info(line);
      const environment: DevEnvironment = await startDevEnvironment({
        port: options.port ?? (await freePort()),
        uiPort: options.uiPort ?? (await freePort()),
        manifestsDir: process.env.RUNBOOK_MANIFESTS ? path.resolve(process.env.RUNBOOK_MANIFESTS) : DEMO_MANIFESTS,
      });
      stopOnSignals(environment, (line) => process.stderr.write(`${line}\n`));
      const timeline: Array<{ title: string; exit: number; expected: number }> = [];
      try {
        say(pc.bold(`Temporal dev server ${environment.server.address}; Web UI ${environment.server.uiUrl}`));
        for (const [i, act] of ACTS.entries()) {
          say('');
          say(pc.bold(`${i + 1}. ${act.title}`));
          say(pc.dim(`$ runbook ${act.args.join(' ')}`));
          const exit = await runAct(act, environment.env);
          timeline.push({ title: act.title, exit, expected: act.expectExit });
        }
        say('');
        say(pc.bold('Timeline'));
        for (const [i, step] of timeline.entries())
          say(`  ${i + 1}. ${step.exit === step.expected ? pc.green('✓') : pc.red('✗')} ${step.title} (exit ${step.exit})`);
        say(`All runs: ${environment.server.uiUrl}/namespaces/${environment.server.namespace}/workflows`);
        output.result({ uiUrl: environment.server.uiUrl, timeline }, () => []);
        const wrong = timeline.filter((s) => s.exit !== s.expected);
        if (wrong.length > 0) throw new RunFailedError(`demo: ${wrong.length} step(s) did not end as expected`);
        if (options.keepRunning) {
          say('Still running for you to browse; Ctrl-C stops the worker and the dev server.');
          await environment.done;
        }
      } finally {
        if (!options.keepRunning) await environment.stop();
      }
    });
}
