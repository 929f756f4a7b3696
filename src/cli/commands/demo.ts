import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import pc from 'picocolors';
import { appLockWorkflowId } from '../../common/names';
import type { DemoWorkspace } from '../../devserver/demo-app';
import { RunFailedError } from '../../client/errors';
import type { Output } from '../output';
import { portNumber } from './dev';

const CLI = path.resolve(__dirname, '..', '..', '..', 'bin', 'runbook.js');

/** One act of the demo: a real `runbook` command and the exit code it should end with. */
interface Act {
  title: string;
  args: string[];
  expectExit: number;
  before?: (workspace: DemoWorkspace) => void;
  /** The deploy-lock run the act started, for the timeline's outcome and link. */
  run?: boolean;
}

function acts(app: string): Act[] {
  return [
    {
      title: 'plan v1: the steps, commands and undos, nothing run',
      args: ['plan', app, '--ref', 'v1'],
      expectExit: 0,
      before: (w) => w.stage('v1', 'ok'),
    },
    { title: 'deploy v1', args: ['deploy', app, '--ref', 'v1'], expectExit: 0, run: true },
    {
      title: 'deploy v2, which answers HTTP 500: health fails, it rolls back to v1 by itself',
      args: ['deploy', app, '--ref', 'v2'],
      expectExit: 1,
      before: (w) => w.stage('v2', 'http500'),
      run: true,
    },
    { title: 'the releases on the host: v2 marked bad, v1 current', args: ['releases', app], expectExit: 0 },
    { title: `history of ${app} from Temporal visibility`, args: ['history', '--app', app], expectExit: 0 },
  ];
}

function runAct(act: Act, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...act.args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

interface TimelineEntry {
  title: string;
  exit: number;
  expected: number;
  outcome?: string;
  url?: string;
  serving?: string;
}

export function demoCommand(output: Output): Command {
  return new Command('demo')
    .description(
      'start `runbook dev` on free ports and deploy a sample app with the real CLI: v1, a broken v2 and its automatic rollback',
    )
    .option('--port <port>', 'gRPC port of the dev server (default a free one)', portNumber)
    .option('--ui-port <port>', 'port of the Web UI (default a free one)', portNumber)
    .option(
      '--keep-running',
      'leave the dev server, worker and app up after the demo, until Ctrl-C, to browse the runs',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook demo        (what `make demo` runs)\n  $ runbook demo --keep-running',
    )
    .action(async (options: { port?: number; uiPort?: number; keepRunning?: boolean }) => {
      const say = (line = '') => output.info(line);
      const { freePort } = await import('../../devserver/ports');
      const { createDemoWorkspace } = await import('../../devserver/demo-app');
      const { startDevEnvironment, stopOnSignals } = await import('../../devserver/dev-environment');
      const { connect } = await import('../../client/connection');
      const { Runs } = await import('../../client/runs');
      const workspace = await createDemoWorkspace();
      let environment;
      try {
        environment = await startDevEnvironment({
          port: options.port ?? (await freePort()),
          uiPort: options.uiPort ?? (await freePort()),
          manifestsDir: workspace.manifestsDir,
          hosts: [workspace.host],
        });
      } catch (error) {
        await workspace.cleanup();
        throw error;
      }
      const env = environment.env;
      const stopAll = async () => {
        await environment.stop();
        await workspace.cleanup();
      };
      stopOnSignals({ stop: stopAll }, (line) => process.stderr.write(`${line}\n`));
      const connected = await connect({
        address: env.TEMPORAL_ADDRESS,
        namespace: env.TEMPORAL_NAMESPACE,
        uiUrl: env.TEMPORAL_UI_URL,
        taskQueue: 'runbook',
      });
      const runs = new Runs(connected.client, connected.settings);
      const timeline: TimelineEntry[] = [];
      let failed = false;
      try {
        say(pc.bold(`Temporal dev server ${environment.server.address}; Web UI ${environment.server.uiUrl}`));
        say(`The demo app (${workspace.dir}) serves on ${workspace.url}`);
        for (const [i, act] of acts(workspace.app).entries()) {
          act.before?.(workspace);
          say();
          say(pc.bold(`${i + 1}. ${act.title}`));
          say(pc.dim(`$ runbook ${act.args.join(' ')}`));
          const entry: TimelineEntry = { title: act.title, exit: await runAct(act, env), expected: act.expectExit };
          if (act.run) {
            const run = await runs.describe(appLockWorkflowId(workspace.app));
            entry.outcome = run.end?.outcome ?? run.status.toLowerCase();
            entry.url = run.url;
            entry.serving = await workspace.serving();
            say(`   ${workspace.url}/ now serves: ${entry.serving}`);
          }
          timeline.push(entry);
        }
        say();
        say(pc.bold('Timeline'));
        for (const [i, entry] of timeline.entries()) {
          const ok = entry.exit === entry.expected;
          say(
            `  ${i + 1}. ${ok ? pc.green('✓') : pc.red('✗')} ${entry.title}: exit ${entry.exit}${entry.outcome ? `, ${entry.outcome}` : ''}${entry.serving ? `; serving ${entry.serving}` : ''}`,
          );
          if (entry.url) say(`       ${entry.url}`);
        }
        say(
          `  All runs of ${workspace.app}: ${environment.server.uiUrl}/namespaces/${environment.server.namespace}/workflows?query=${encodeURIComponent(`App="${workspace.app}"`)}`,
        );
        output.result({ uiUrl: environment.server.uiUrl, timeline }, () => []);
        const wrong = timeline.filter((entry) => entry.exit !== entry.expected);
        failed = wrong.length > 0;
        if (failed) throw new RunFailedError(`demo: ${wrong.map((w) => w.title).join('; ')} did not end as expected`);
        if (options.keepRunning) {
          say();
          say(`Still running: open ${environment.server.uiUrl}; Ctrl-C stops the worker, the dev server and the app.`);
          await environment.done;
        }
      } finally {
        await connected.close();
        if (!options.keepRunning || failed) await stopAll();
      }
    });
}
