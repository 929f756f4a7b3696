import { containerName, nameContainer, removeContainerArgv } from '../../../src/activities/containment/containers';

describe('containers a command has Docker run get a name Runbook can remove them by', () => {
  const name = containerName('w-12-345.6');

  it('is a valid Docker name derived from the attempt', () => {
    expect(name).toBe('runbook-w-12-345.6');
  });

  it.each([
    [
      ['docker', 'compose', 'run', '--rm', 'app', 'alembic', 'upgrade', 'head'],
      ['docker', 'compose', 'run', '--name', name, '--rm', 'app', 'alembic', 'upgrade', 'head'],
      ['docker'],
    ],
    [
      [
        'docker',
        'compose',
        '-f',
        'docker-compose.prod.yml',
        '-p',
        'secretaria',
        'run',
        '--rm',
        'app',
        'flask',
        'db',
        'upgrade',
      ],
      [
        'docker',
        'compose',
        '-f',
        'docker-compose.prod.yml',
        '-p',
        'secretaria',
        'run',
        '--name',
        name,
        '--rm',
        'app',
        'flask',
        'db',
        'upgrade',
      ],
      ['docker'],
    ],
    [
      ['/usr/bin/docker', '-H', 'unix:///run/docker.sock', 'compose', '--file=x.yml', 'run', 'app', 'sh'],
      [
        '/usr/bin/docker',
        '-H',
        'unix:///run/docker.sock',
        'compose',
        '--file=x.yml',
        'run',
        '--name',
        name,
        'app',
        'sh',
      ],
      ['/usr/bin/docker', '-H', 'unix:///run/docker.sock'],
    ],
    [
      ['docker-compose', '-f', 'a.yml', 'run', '-e', 'A=1', 'app', 'migrate'],
      ['docker-compose', '-f', 'a.yml', 'run', '--name', name, '-e', 'A=1', 'app', 'migrate'],
      ['docker'],
    ],
    [
      ['docker', 'run', '--rm', '-v', '/srv:/srv', 'busybox', 'true'],
      ['docker', 'run', '--name', name, '--rm', '-v', '/srv:/srv', 'busybox', 'true'],
      ['docker'],
    ],
    [['docker', 'container', 'run', 'busybox'], ['docker', 'container', 'run', '--name', name, 'busybox'], ['docker']],
  ])('%j gets --name after run', (argv, named, cli) => {
    const result = nameContainer(argv, name);
    expect(result.argv).toEqual(named);
    expect(result.container).toEqual({ name, cli });
    expect(removeContainerArgv(result.container!)).toEqual([...cli, 'rm', '--force', name]);
  });

  it('keeps a name the command gives its container, and is not fooled by the command inside the container', () => {
    expect(nameContainer(['docker', 'compose', 'run', '--name', 'mine', 'app', 'x'], name)).toEqual({
      argv: ['docker', 'compose', 'run', '--name', 'mine', 'app', 'x'],
      container: { name: 'mine', cli: ['docker'] },
    });
    expect(nameContainer(['docker', 'run', '--name=mine', 'busybox'], name).container?.name).toBe('mine');
    // `--name` after the service is the service's own argument: Runbook names the container itself.
    expect(nameContainer(['docker', 'compose', 'run', 'app', 'flask', '--name', 'x'], name).argv).toEqual([
      'docker',
      'compose',
      'run',
      '--name',
      name,
      'app',
      'flask',
      '--name',
      'x',
    ]);
  });

  it.each([
    [['docker', 'compose', 'up', '-d']],
    [['docker', 'compose', 'exec', 'app', 'run']],
    [['docker', 'ps']],
    [['python3', 'manage.py', 'run']],
    [['/bin/sh', '-c', 'docker compose run app x']],
  ])('leaves %j alone', (argv) => {
    expect(nameContainer(argv, name)).toEqual({ argv });
  });
});
