import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { forkingDeploys } from '../support/forking-deploy';
import { waitFor } from '../support/postgres';
import { linesOf } from '../support/processes';
import { seedDocker, seedScratchDir } from '../support/seed-services';
import { uniqueName } from '../support/temporal';

// `docker compose run` on the seed suite's real Docker engine: Docker's daemon runs the container, outside
// the step's cgroup, so killing the step's processes alone would leave it migrating behind the retry's back.
describe('a container a step has Docker run does not outlive its attempt', () => {
  const deploys = forkingDeploys();

  it('docker compose run: named after the attempt, removed when the worker dies; the retry migrates once', async () => {
    const { docker, env, baseImage } = seedDocker();
    const dir = seedScratchDir(uniqueName('compose-run'));
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const project = path.basename(dir).toLowerCase();
    const file = path.join(dir, 'compose.yml');
    writeFileSync(
      file,
      ['services:', '  app:', `    image: ${baseImage}`, `    volumes: ["${out}:/out"]`, '    init: true'].join('\n'),
    );
    const containers = async () =>
      (await docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}}']))
        .trim()
        .split('\n')
        .filter(Boolean);
    const log = path.join(out, 'migrations.log');

    const first = await deploys.worker();
    const handle = await deploys.startInstalling(
      {
        run: [
          'docker',
          'compose',
          '-f',
          file,
          '-p',
          project,
          'run',
          '--rm',
          'app',
          'sh',
          '-c',
          'echo start >> /out/migrations.log; sleep 8; echo done >> /out/migrations.log',
        ],
        env,
      },
      async () => {
        if (!linesOf(log).includes('start')) throw new Error('the migration has not started yet');
      },
    );
    const [running] = await containers();
    expect(running).toMatch(/^runbook-w-\d+-\d+\.\d+$/);

    await deploys.kill(first);
    await waitFor(async () => expect(await containers()).toEqual([]), 15_000);

    await deploys.worker();
    expect((await deploys.outcome(handle)).outcome).toBe('succeeded');
    expect(linesOf(log)).toEqual(['start', 'start', 'done']);
    expect(await containers()).toEqual([]);
  });
});
