import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './postgres';

/*
 * Real containers for the seed suite: a Docker engine (dockerd with its own data root and socket under
 * .containers/, started and stopped by the tests) with Compose v2, and a real systemd booted with
 * systemd-nspawn on the Debian root scripts/setup-seeds.sh builds. Nothing here is a stand-in: units,
 * images and compose projects behave as on a server.
 */

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const CONTAINERS_DIR = path.join(PROJECT_ROOT, '.containers');
/** The Debian root (built by scripts/setup-seeds.sh): a systemd server, and the stand-in apps' base image. */
export const DEBIAN_ROOT = path.join(CONTAINERS_DIR, 'roots', 'bookworm');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no shell), collecting its output. */
export function run(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | NodeJS.ReadableStream } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (typeof options.input === 'string') child.stdin?.end(options.input);
    else if (options.input) options.input.pipe(child.stdin!);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Like run(), but a non-zero exit is an error that carries the command's output. */
export async function runOk(argv: string[], options: Parameters<typeof run>[1] = {}): Promise<string> {
  const result = await run(argv, options);
  if (result.code !== 0)
    throw new Error(`${argv.join(' ')} exited with ${result.code}:\n${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout;
}

/** Alive and not a zombie. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

async function stopPid(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, signal);
  try {
    await waitFor(async () => {
      if (isRunning(pid)) throw new Error(`${pid} still running`);
    }, timeoutMs);
  } catch {
    if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  }
}

/**
 * A process this harness started in an earlier run that was itself killed (its pid file remains): stopped
 * only when its command line proves it is ours, never by name.
 */
async function stopLeftover(pidFile: string, marker: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (pid > 0 && cmdline(pid).includes(marker)) await stopPid(pid, 'SIGTERM', 20_000);
}

// ---- Docker engine --------------------------------------------------------------------------------------

export interface DockerEngine {
  /** What a docker CLI (and an app's commands) need to reach this engine and find Compose v2. */
  env: { DOCKER_HOST: string; DOCKER_CONFIG: string };
  dir: string;
  docker(args: string[], options?: Parameters<typeof run>[1]): Promise<string>;
  stop(): Promise<void>;
}

const DOCKER_CONFIG = path.join(PROJECT_ROOT, '.tools', 'docker-config');

export function dockerEnv(dir = path.join(CONTAINERS_DIR, 'docker')): DockerEngine['env'] {
  return { DOCKER_HOST: `unix://${path.join(dir, 'docker.sock')}`, DOCKER_CONFIG };
}

/** A docker CLI handle on an engine that is already running (e.g. started by the global setup). */
export function dockerClient(env: DockerEngine['env']): DockerEngine['docker'] {
  return (args, options = {}) =>
    runOk(['docker', ...args], { ...options, env: { ...process.env, ...env, ...options.env } });
}

/**
 * dockerd on its own socket and data roots. Its networks come first from a range of /24s of their own: Docker
 * skips a range any host route overlaps, and the default ones (15 /16s and 16 /20s) were all taken on a
 * machine where earlier engines had left bridges ("could not find an available, non-overlapping IPv4 address
 * pool"); the defaults stay as a fallback.
 */
export function dockerdArgs(dir: string, pidFile: string, host: string): string[] {
  return [
    ...['--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec')],
    ...['--pidfile', pidFile, '-H', host],
    ...['--default-address-pool', 'base=10.213.0.0/16,size=24'],
    ...['--default-address-pool', 'base=172.17.0.0/12,size=16'],
    ...['--default-address-pool', 'base=192.168.0.0/16,size=20'],
  ];
}

/** Starts dockerd on its own socket and data root (ready in about a second) and waits until it answers. */
export async function startDockerEngine(dir = path.join(CONTAINERS_DIR, 'docker')): Promise<DockerEngine> {
  if (!existsSync(path.join(DOCKER_CONFIG, 'cli-plugins', 'docker-compose')))
    throw new Error('Docker Compose v2 is not installed: run scripts/setup-seeds.sh (make test-seeds does)');
  mkdirSync(dir, { recursive: true });
  const pidFile = path.join(dir, 'dockerd.pid');
  const dataRoot = path.join(dir, 'data');
  await stopLeftover(pidFile, dataRoot);
  const env = dockerEnv(dir);
  const hadBridge = (await run(['ip', 'link', 'show', 'docker0'])).code === 0;
  const log = openSync(path.join(dir, 'dockerd.log'), 'a');
  const child = spawn('dockerd', dockerdArgs(dir, pidFile, env.DOCKER_HOST), { stdio: ['ignore', log, log] });
  closeSync(log);
  const docker = dockerClient(env);
  await waitFor(async () => {
    if (child.exitCode !== null)
      throw new Error(`dockerd exited with ${child.exitCode}; see ${path.join(dir, 'dockerd.log')}`);
    await docker(['version', '--format', '{{.Server.Version}}']);
  }, 30_000);
  return {
    env,
    dir,
    docker,
    async stop() {
      // A network left behind keeps its bridge, and its address range, on the host after the engine stops.
      await run(['docker', 'network', 'prune', '--force'], { env: { ...process.env, ...env } });
      if (child.pid) await stopPid(child.pid, 'SIGTERM', 20_000);
      await run(['umount', path.join(dir, 'exec', 'netns', 'default')]);
      await run(['umount', dataRoot]);
      if (!hadBridge) await run(['ip', 'link', 'del', 'docker0']);
    },
  };
}

/**
 * The Debian root as an image (`docker import`, no registry needed), imported once per engine data root:
 * the base of every stand-in app's Dockerfile.
 */
export async function importDebianImage(docker: DockerEngine['docker']): Promise<string> {
  const stamp = readFileSync(path.join(DEBIAN_ROOT, '.runbook-root'), 'utf8');
  const tag = `localhost/runbook-debian:${shortHash(stamp)}`;
  const present = await docker(['image', 'inspect', '--format', '{{.Id}}', tag]).then(
    () => true,
    () => false,
  );
  if (present) return tag;
  const tar = spawn(
    'tar',
    ['-C', DEBIAN_ROOT, '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./dev/*', '-c', '.'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await docker(['import', '-', tag], { input: tar.stdout! });
  return tag;
}

function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

// ---- systemd ------------------------------------------------------------------------------------------

export interface SystemdMachine {
  name: string;
  /** Host pid of the machine's systemd (PID 1 inside). */
  leader: number;
  /** Runs a command inside the machine (all its namespaces), as root, in `cwd` (default /). */
  exec(argv: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string }): Promise<CommandResult>;
  /** `systemctl …` inside the machine; throws with its output when it fails. */
  systemctl(...args: string[]): Promise<string>;
  /** The argv prefix that runs a command inside the machine (for long-running processes such as workers). */
  enter(cwd?: string): string[];
  /** Writes a file of the machine's own file system (not a bound host folder), e.g. a unit file. */
  writeFile(file: string, text: string): Promise<void>;
  stop(): Promise<void>;
}

// `env --chdir` changes directory once inside the machine's root (nsenter's own --wd can leave the process
// in a directory getcwd() cannot name from there).
function enterArgv(leader: number, cwd = '/'): string[] {
  return ['nsenter', '-t', String(leader), '-a', '--', '/usr/bin/env', `--chdir=${cwd}`];
}

/** A handle on a machine that is already running (its leader's pid, e.g. from the global setup). */
export function machineClient(name: string, leader: number, stop: () => Promise<void> = async () => undefined) {
  const machine: SystemdMachine = {
    name,
    leader,
    exec: (argv, options = {}) =>
      run([...enterArgv(leader, options.cwd), ...argv], {
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...options.env },
        input: options.input,
      }),
    async systemctl(...args) {
      const result = await machine.exec(['systemctl', ...args]);
      if (result.code !== 0)
        throw new Error(`systemctl ${args.join(' ')} exited with ${result.code}: ${result.stderr || result.stdout}`);
      return result.stdout;
    },
    enter: (cwd) => enterArgv(leader, cwd),
    async writeFile(file, text) {
      const result = await machine.exec(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', file], {
        input: text,
      });
      if (result.code !== 0) throw new Error(`cannot write ${file} in the machine: ${result.stderr}`);
    },
    stop,
  };
  return machine;
}

/**
 * Boots a real systemd as PID 1 of a container (systemd-nspawn on the Debian root, with a throwaway overlay
 * so the root stays clean; it shares the host's network, so ports and the Temporal server are reachable as
 * on the host). `binds` are host folders mounted at the same path, read-write; `readOnly` likewise read-only.
 * Never bind /tmp: the machine's boot cleans its /tmp.
 */
export async function startSystemdMachine(options: {
  name: string;
  binds?: string[];
  readOnly?: string[];
}): Promise<SystemdMachine> {
  if (!existsSync(path.join(DEBIAN_ROOT, '.runbook-root')))
    throw new Error(`${DEBIAN_ROOT} is missing: run scripts/setup-seeds.sh (make test-seeds does)`);
  const dir = path.join(CONTAINERS_DIR, 'machines');
  mkdirSync(dir, { recursive: true });
  const pidFile = path.join(dir, `${options.name}.pid`);
  await stopLeftover(pidFile, `--machine=${options.name}`);
  const log = openSync(path.join(dir, `${options.name}.log`), 'w');
  const argv = [
    'systemd-nspawn',
    '--keep-unit',
    '--register=no',
    '--console=passive',
    `--machine=${options.name}`,
    '--directory',
    DEBIAN_ROOT,
    '--volatile=overlay',
    ...(options.readOnly ?? []).map((p) => `--bind-ro=${p}`),
    ...(options.binds ?? []).map((p) => `--bind=${p}`),
    '--boot',
  ];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log] });
  closeSync(log);
  writeFileSync(pidFile, String(child.pid));

  let leader = 0;
  await waitFor(async () => {
    if (child.exitCode !== null)
      throw new Error(`systemd-nspawn exited with ${child.exitCode}; see ${path.join(dir, `${options.name}.log`)}`);
    leader = childrenOf(child.pid!)[0] ?? 0;
    if (!leader) throw new Error('the machine has not started yet');
  }, 30_000);
  const stop = async () => {
    if (child.pid) await stopPid(child.pid, 'SIGTERM', 30_000);
  };
  const machine = machineClient(options.name, leader, stop);
  await waitFor(
    async () => {
      const state = await machine.exec(['systemctl', 'is-system-running']);
      if (!/^(running|degraded)/.test(state.stdout.trim())) throw new Error(`the machine is ${state.stdout.trim()}`);
    },
    60_000,
    200,
  );
  return machine;
}

/** Host pids of a process's children. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
