import { composeConfigArgv } from '../../../src/activities/commands/compose';
import { dockerBuildArgv, dockerImageIdArgv, dockerImageRemoveArgv } from '../../../src/activities/commands/docker';

describe('docker argv for the images of an image app', () => {
  it('builds a release image tagged with the release, labelled with its app, release and ref', () => {
    expect(
      dockerBuildArgv({
        tag: 'secretaria-app:20261130T080000Z-1a2b3c4d',
        context: '.',
        file: 'docker/Dockerfile',
        labels: { 'runbook.app': 'secretaria', 'runbook.release': '20261130T080000Z-1a2b3c4d', 'runbook.ref': 'v2.4' },
      }),
    ).toEqual([
      'docker',
      'build',
      '--tag',
      'secretaria-app:20261130T080000Z-1a2b3c4d',
      '--file',
      'docker/Dockerfile',
      '--label',
      'runbook.app=secretaria',
      '--label',
      'runbook.release=20261130T080000Z-1a2b3c4d',
      '--label',
      'runbook.ref=v2.4',
      '--',
      '.',
    ]);
    expect(dockerBuildArgv({ tag: 'app:r1', context: 'web', labels: {} })).toEqual([
      'docker',
      'build',
      '--tag',
      'app:r1',
      '--',
      'web',
    ]);
  });

  it('finds and removes one release tag', () => {
    expect(dockerImageIdArgv('app:r1')).toEqual(['docker', 'image', 'inspect', '--format', '{{.Id}}', '--', 'app:r1']);
    expect(dockerImageRemoveArgv('app:r1')).toEqual(['docker', 'image', 'rm', '--', 'app:r1']);
  });

  it("reads the compose file as Compose resolves it, in the app's project", () => {
    expect(
      composeConfigArgv({
        file: '/srv/app/releases/r1/docker-compose.prod.yml',
        project: 'secretaria',
        services: ['app'],
      }),
    ).toEqual([
      'docker',
      'compose',
      '-f',
      '/srv/app/releases/r1/docker-compose.prod.yml',
      '-p',
      'secretaria',
      'config',
      '--format',
      'json',
    ]);
  });
});
