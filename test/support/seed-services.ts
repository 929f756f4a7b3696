import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  CONTAINERS_DIR,
  dockerClient,
  importDebianImage,
  machineClient,
  PROJECT_ROOT,
  startDockerEngine,
  startSystemdMachine,
  type DockerEngine,
  type SystemdMachine,
} from './containers';

/*
 * The seed suite's servers, started once per `make test-seeds` by the global setup and shared by its test
 * files: a Docker engine (with the Debian base image imported) and a systemd machine. Test files reach them
 * through the environment variables below.
 */

export interface SeedServices {
  engine: DockerEngine;
  machine: SystemdMachine;
  scratch: string;
  release: () => void;
}

/**
 * One seed run at a time per checkout (they share the engine's data root and the docker0 bridge): holds
 * `flock` on .containers/seeds.lock until released — or until this process dies and the pipe closes.
 */
async function takeSeedLock(): Promise<() => void> {
  mkdirSync(CONTAINERS_DIR, { recursive: true });
  const holder = spawn('flock', [path.join(CONTAINERS_DIR, 'seeds.lock'), 'sh', '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const notice = setTimeout(() => console.log('seed services: waiting for another seed run in this checkout'), 2_000);
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`flock exited with ${code}`)));
  }).finally(() => clearTimeout(notice));
  return () => holder.stdin.end();
}

const ENV = {
  dockerHost: 'RUNBOOK_TEST_DOCKER_HOST',
  dockerConfig: 'RUNBOOK_TEST_DOCKER_CONFIG',
  baseImage: 'RUNBOOK_TEST_BASE_IMAGE',
  machine: 'RUNBOOK_TEST_MACHINE',
  scratch: 'RUNBOOK_TEST_SCRATCH',
} as const;

export async function startSeedServices(): Promise<SeedServices> {
  const release = await takeSeedLock();
  const scratch = path.join(CONTAINERS_DIR, 'work', `run-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  let started = Date.now();
  const engine = await startDockerEngine();
  const image = await importDebianImage(engine.docker);
  console.log(`seed services: Docker engine and base image ready in ${Date.now() - started} ms`);
  started = Date.now();
  const machine = await startSystemdMachine({
    name: `runbook-seeds-${process.pid}`,
    binds: [scratch],
    readOnly: [PROJECT_ROOT, process.execPath],
  });
  console.log(`seed services: systemd machine booted in ${Date.now() - started} ms (leader pid ${machine.leader})`);
  Object.assign(process.env, {
    [ENV.dockerHost]: engine.env.DOCKER_HOST,
    [ENV.dockerConfig]: engine.env.DOCKER_CONFIG,
    [ENV.baseImage]: image,
    [ENV.machine]: `${machine.name}:${machine.leader}`,
    [ENV.scratch]: scratch,
  });
  return { engine, machine, scratch, release };
}

export async function stopSeedServices(services: SeedServices): Promise<void> {
  await Promise.allSettled([services.machine.stop(), services.engine.stop()]);
  rmSync(services.scratch, { recursive: true, force: true });
  services.release();
}

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the seed tests with make test-seeds (its global setup starts them)`);
  return value;
}

/** The shared Docker engine: its client environment, a docker CLI handle and the base image's tag. */
export function seedDocker() {
  const env = { DOCKER_HOST: required(ENV.dockerHost), DOCKER_CONFIG: required(ENV.dockerConfig) };
  return { env, docker: dockerClient(env), baseImage: required(ENV.baseImage) };
}

/** The shared systemd machine. */
export function seedMachine(): SystemdMachine {
  const [name, leader] = required(ENV.machine).split(':');
  return machineClient(name, Number(leader));
}

/** A fresh folder that the machine sees at the same path (test apps live here, not in /tmp). */
export function seedScratchDir(name: string): string {
  const dir = path.join(required(ENV.scratch), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
