import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_TEMPORAL_CLI, resolveTemporalCli } from '../../src/devserver/temporal-cli';

function fakeExecutable(dir: string, name = 'temporal'): string {
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('resolving the Temporal CLI', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-cli-'));
  const onPath = fakeExecutable(mkdtempSync(path.join(dir, 'bin-')));

  it('prefers TEMPORAL_CLI_PATH', () => {
    const explicit = fakeExecutable(dir, 'my-temporal');
    expect(resolveTemporalCli({ TEMPORAL_CLI_PATH: explicit, PATH: path.dirname(onPath) })).toEqual({
      kind: 'path',
      path: explicit,
      from: 'TEMPORAL_CLI_PATH',
    });
  });

  it('refuses a TEMPORAL_CLI_PATH that is not executable, naming it', () => {
    expect(() => resolveTemporalCli({ TEMPORAL_CLI_PATH: path.join(dir, 'missing') })).toThrow(
      /TEMPORAL_CLI_PATH=.*missing is not an executable file/,
    );
  });

  it('then `temporal` on PATH', () => {
    expect(resolveTemporalCli({ PATH: `/nonexistent:${path.dirname(onPath)}` })).toEqual({
      kind: 'path',
      path: onPath,
      from: 'PATH',
    });
  });

  it('then the pinned project-local install from `make setup`', () => {
    expect(resolveTemporalCli({ PATH: '/nonexistent' })).toEqual({
      kind: 'path',
      path: PROJECT_TEMPORAL_CLI,
      from: 'project',
    });
  });
});
