import { Command } from 'commander';
import type { Manifest } from '../../manifest/types';
import { UsageError } from '../../client/errors';
import type { Output } from '../output';

export function summarize(manifest: Manifest): string {
  const services = manifest.services.map((s) => `${s.name}(${s.type})`).join(', ') || 'no services';
  const counts = [
    `${manifest.health.checks.length} health check(s)`,
    `${manifest.jobs.length} job(s)`,
    `${manifest.schedules.length} schedule(s)`,
  ].join(', ');
  return `${manifest.app}: ${manifest.source.type} → ${manifest.strategy} on ${manifest.hosts.join(', ')}; ${services}; ${counts}`;
}

export function validateCommand(output: Output): Command {
  return new Command('validate')
    .description('check app manifests against the schema and print a summary of each')
    .argument('<manifest...>', 'manifest files (YAML)')
    .addHelpText('after', '\nExample:\n  $ runbook validate examples/*.yaml')
    .action(async (files: string[]) => {
      const { describeProblem, loadManifestFile } = await import('../../manifest/load');
      const results = files.map((file) => ({ file, result: loadManifestFile(file) }));
      const failed = results.filter((r) => !r.result.ok);
      output.result(
        results.map(({ file, result }) =>
          result.ok
            ? { file, valid: true, app: result.manifest.app, summary: summarize(result.manifest) }
            : { file, valid: false, problems: result.problems },
        ),
        () =>
          results
            .filter(({ result }) => result.ok)
            .map(({ file, result }) => `✓ ${file}: ${summarize((result as { manifest: Manifest }).manifest)}`),
      );
      if (failed.length > 0) {
        const details = failed.flatMap(({ file, result }) =>
          result.ok ? [] : result.problems.map((p) => describeProblem(file, p)),
        );
        throw new UsageError(
          `${failed.length} of ${files.length} manifest(s) invalid`,
          'fix each problem listed above and run validate again',
          details,
          output.json,
        );
      }
    });
}
