import { Command } from 'commander';
import type { DeployInput } from '../../common/contracts';
import { DeployInputError, validateDeployInput } from '../../common/deploy-plan';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import { checkParams, collectParam, loadAppManifest } from '../manifests';
import { UsageError } from '../../client/errors';

/** What a deploy is asked to do; `runbook plan` takes the same options and shows what they would do. */
export interface DeployChoices {
  ref: string;
  param?: Record<string, string>;
  seed?: boolean;
  approveRequired?: boolean;
  onFailure?: string;
}

interface DeployOptions extends DeployChoices {
  wait: boolean;
  waitLock?: boolean;
}

/** The options of a deploy's choices, shared by `runbook deploy` and `runbook plan`. */
export function withDeployChoices(command: Command): Command {
  return command
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .requiredOption('--ref <ref>', 'git branch, tag or commit; release label (copy source); image tag (compose)')
    .option('--param <key=value>', "a value for one of the manifest's params (repeatable)", collectParam)
    .option('--seed', "also run the manifest's seed steps")
    .option(
      '--approve-required',
      "on each host, wait for `runbook approve` before the phase the manifest's approval.before names (default switch: after migrate, build and seed, before the restart)",
    )
    .option(
      '--on-failure <policy>',
      "when a step fails before the switch: rollback, or ask (wait for runbook retry|skip|rollback-now); default the manifest's onFailure",
    );
}

/** The deploy's input from the command's choices, checked as the workflow will check it. */
export async function deployInput(app: string, options: DeployChoices): Promise<DeployInput> {
  const manifest = await loadAppManifest(app);
  if (!options.ref.trim())
    throw new UsageError('--ref is empty', 'give a git branch, tag or commit, a release label or an image tag');
  const params = options.param ?? {};
  checkParams(manifest.params, params, `app ${app}`);
  const input: DeployInput = {
    app,
    ref: options.ref,
    ...(Object.keys(params).length > 0 ? { params } : {}),
    ...(options.seed ? { seed: true } : {}),
    ...(options.approveRequired ? { requireApproval: true } : {}),
    ...(options.onFailure ? { onFailure: onFailurePolicy(options.onFailure) } : {}),
  };
  // The workflow's own check (allowed refs, param rules), so a deploy it would refuse never starts.
  try {
    validateDeployInput(manifest, input);
  } catch (error) {
    if (error instanceof DeployInputError) throw new UsageError(error.message, 'fix --ref or --param and run again');
    throw error;
  }
  return input;
}

function onFailurePolicy(value: string): 'rollback' | 'ask' {
  if (value === 'rollback' || value === 'ask') return value;
  throw new UsageError(
    `--on-failure '${value}' is not a policy`,
    'use rollback (undo at once) or ask (wait for runbook retry, skip or rollback-now)',
  );
}

export function deployCommand(output: Output): Command {
  return withDeployChoices(
    new Command('deploy').description(
      'deploy a ref of an app: snapshot, install, migrate, switch, check health; roll back automatically if it fails',
    ),
  )
    .option('--wait-lock', 'if a deploy or rollback of the app is running, wait for it to end, then start')
    .option('--no-wait', 'return once the run has started')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook deploy almareia --ref v1.4.2\n  $ runbook deploy secretaria --ref main --param tenantId=42 --approve-required\n  $ runbook deploy flowlog --ref v2 --on-failure ask --wait-lock',
    )
    .action(async (app: string, options: DeployOptions) => {
      const input = await deployInput(app, options);
      await startAndFollow(output, 'deploy', input, `deploy ${app} ${input.ref}`, {
        wait: options.wait,
        waitLock: options.waitLock,
      });
    });
}
