import path from 'node:path';

/** A container a command asked Docker to run: Docker's daemon runs it, outside any cgroup of Runbook's. */
export interface ContainerRef {
  name: string;
  /** The docker CLI with the global options the command used (`-H`, `--context`, …). */
  cli: string[];
  /** The command's DOCKER_* variables and PATH, which say which engine runs the container. */
  env?: Record<string, string>;
}

const DOCKER_VALUE_OPTIONS = new Set([
  '-H',
  '--host',
  '-c',
  '--context',
  '--config',
  '-l',
  '--log-level',
  '--tlscacert',
  '--tlscert',
  '--tlskey',
]);
const COMPOSE_VALUE_OPTIONS = new Set([
  '-f',
  '--file',
  '-p',
  '--project-name',
  '--project-directory',
  '--env-file',
  '--profile',
  '--ansi',
  '--progress',
  '--parallel',
]);
/** Options of `run` that take a value, up to the service or image (whose own arguments may say --name). */
const RUN_VALUE_OPTIONS = new Set([
  '--name',
  '-e',
  '--env',
  '--env-file',
  '--env-from-file',
  '-l',
  '--label',
  '-p',
  '--publish',
  '-u',
  '--user',
  '-v',
  '--volume',
  '-w',
  '--workdir',
  '--entrypoint',
  '--pull',
  '--cap-add',
  '--cap-drop',
  '--network',
  '--net',
  '--mount',
  '-h',
  '--hostname',
  '--add-host',
  '-m',
  '--memory',
  '--cpus',
  '--restart',
  '--platform',
  '--device',
  '--dns',
  '--log-driver',
  '--log-opt',
  '--tmpfs',
  '--ulimit',
  '--shm-size',
  '--stop-signal',
  '--stop-timeout',
]);

function skipOptions(argv: string[], from: number, valueOptions: Set<string>): number {
  let i = from;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '--') {
    i += valueOptions.has(argv[i]) ? 2 : 1;
  }
  return i;
}

/**
 * A command that starts a container (`docker compose run`, `docker-compose run`, `docker run`,
 * `docker container run`) gets a container name Runbook knows, `--name <name>` right after `run`, so the
 * container can be removed when the attempt ends or dies; one that names its container keeps its name.
 * Anything else is returned unchanged. Pure.
 */
export function nameContainer(argv: string[], name: string): { argv: string[]; container?: ContainerRef } {
  const bin = path.basename(argv[0] ?? '');
  let cli: string[];
  let run: number;
  if (bin === 'docker') {
    const sub = skipOptions(argv, 1, DOCKER_VALUE_OPTIONS);
    cli = argv.slice(0, sub);
    if (argv[sub] === 'compose') run = skipOptions(argv, sub + 1, COMPOSE_VALUE_OPTIONS);
    else if (argv[sub] === 'container') run = sub + 1;
    else run = sub;
  } else if (bin === 'docker-compose') {
    cli = ['docker'];
    run = skipOptions(argv, 1, COMPOSE_VALUE_OPTIONS);
  } else {
    return { argv };
  }
  if (argv[run] !== 'run') return { argv };
  const end = skipOptions(argv, run + 1, RUN_VALUE_OPTIONS);
  for (let i = run + 1; i < end; i++) {
    if (argv[i] === '--name' && argv[i + 1]) return { argv, container: { name: argv[i + 1], cli } };
    if (argv[i].startsWith('--name=')) return { argv, container: { name: argv[i].slice('--name='.length), cli } };
  }
  return {
    argv: [...argv.slice(0, run + 1), '--name', name, ...argv.slice(run + 1)],
    container: { name, cli },
  };
}

/** argv that removes a container, running or not. Pure. */
export function removeContainerArgv(container: ContainerRef): string[] {
  return [...container.cli, 'rm', '--force', container.name];
}

/** A container name from an attempt's id: Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
export function containerName(attempt: string): string {
  return `runbook-${attempt.replace(/[^A-Za-z0-9_.-]+/g, '-')}`;
}

/** What of a command's environment reaches the engine that runs its containers. */
export function dockerEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && (key === 'PATH' || key.startsWith('DOCKER_'))) out[key] = value;
  return out;
}
