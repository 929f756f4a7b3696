import { Command } from 'commander';
import type { DeployInput } from '../../common/contracts';
import { DeployInputError, validateDeployInput } from '../../common/deploy-plan';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import { checkParams, collectParam, loadAppManifest } from '../manifests';
import { UsageError } from '../../client/errors';

interface DeployOptions {
  ref: string;
  param?: Record<string, string>;
  seed?: boolean;
  approveRequired?: boolean;
  wait: boolean;
}

export function deployInput(app: string, options: DeployOptions): DeployInput {
  const manifest = loadAppManifest(app);
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

export function deployCommand(output: Output): Command {
  return new Command('deploy')
    .description(
      'deploy a ref of an app: snapshot, install, migrate, switch, check health; roll back automatically if it fails',
    )
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .requiredOption('--ref <ref>', 'git branch, tag or commit; release label (copy source); image tag (compose)')
    .option('--param <key=value>', "a value for one of the manifest's params (repeatable)", collectParam)
    .option('--seed', "also run the manifest's seed steps")
    .option('--approve-required', 'wait for `runbook approve` before switching to the new release')
    .option('--no-wait', 'return once the run has started')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook deploy almareia --ref v1.4.2\n  $ runbook deploy secretaria --ref main --param tenantId=42 --approve-required',
    )
    .action(async (app: string, options: DeployOptions) => {
      const input = deployInput(app, options);
      await startAndFollow(output, 'deploy', input, `deploy ${app} ${input.ref}`, { wait: options.wait });
    });
}
