import { Command } from 'commander';
import { planDeploy, type DeployPlan, type HostPlan, type PlannedStep } from '../../common/deploy-plan';
import { hostTaskQueue } from '../../common/names';
import type { Manifest } from '../../manifest/types';
import { stepArgv } from '../../manifest/argv';
import type { Output } from '../output';
import { terminalPalette } from '../follow';
import { loadAppManifest } from '../manifests';
import type { Palette } from '../progress-view';
import { deployInput, withDeployChoices, type DeployChoices } from './deploy';

/** The plan as printed and as --json: every step with the argv it would run (release placeholders as such). */
export type PrintedPlan = Omit<DeployPlan, 'hosts'> & {
  hosts: Array<Omit<HostPlan, 'steps'> & { steps: Array<PlannedStep & { argv?: string[] }> }>;
};

export function printablePlan(manifest: Manifest, plan: DeployPlan): PrintedPlan {
  return {
    ...plan,
    hosts: plan.hosts.map((host) => ({
      ...host,
      steps: host.steps.map((step) =>
        step.action === 'run-step'
          ? { ...step, argv: stepArgv(manifest.steps[step.step.phase][step.step.index], plan.values) }
          : step,
      ),
    })),
  };
}

/** Quotes an argv element only when a shell reader would need it, for display. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function planLines(plan: PrintedPlan, manifest: Manifest, colors: Palette): string[] {
  const lines = [
    `${colors.bold(`plan: deploy ${plan.app} ${plan.ref}`)} (${plan.strategy}, ${manifest.source.type} source) ${colors.dim('— nothing was run')}`,
  ];
  for (const host of plan.hosts) {
    lines.push(`${host.host} (task queue ${hostTaskQueue(host.host)}):`);
    host.steps.forEach((step, i) => {
      lines.push(`  ${String(i + 1).padStart(2)}. ${step.name}`);
      if (step.argv) lines.push(`      ${colors.dim('$')} ${step.argv.map(shellWord).join(' ')}`);
    });
  }
  for (const host of plan.finish) {
    lines.push(`${host.host}, once every host is healthy:`);
    host.steps.forEach((step, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${step.name}`));
  }
  if (plan.onFailure.policy === 'ask')
    lines.push(
      `if a step fails before the switch, the deploy waits up to ${plan.onFailure.decisionTimeout} for runbook retry, skip (steps marked skippable) or rollback-now; then:`,
    );
  lines.push('if a step fails, these undo what was done, in this order:');
  plan.compensations.forEach((c, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${c}`));
  return lines;
}

export function planCommand(output: Output): Command {
  return withDeployChoices(
    new Command('plan').description(
      'print what a deploy with these options would do: its steps, the argv of each command, its checks and undos; runs nothing',
    ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook plan almareia --ref v1.4.2\n  $ runbook plan secretaria --ref main --param tenantId=42 --seed --json',
    )
    .action(async (app: string, options: DeployChoices) => {
      const input = await deployInput(app, options);
      const manifest = await loadAppManifest(app);
      const plan = printablePlan(manifest, planDeploy(manifest, input));
      output.result(plan, () => planLines(plan, manifest, terminalPalette()));
    });
}
