import { readdirSync } from 'node:fs';
import os from 'node:os';
import globalSetup from '../support/global-setup';
import { waitFor } from '../support/postgres';
import { processesMentioning } from '../support/processes';

// A test run whose setup fails half-way (here the cluster suite without its server) must not leave the
// services it had already started running on the machine, nor their folders behind.
describe("the test run's global setup", () => {
  it('stops the services it started when another one fails to start', async () => {
    const env = { ...process.env };
    const services = globalThis.__RUNBOOK_TEST_SERVICES__;
    const started = () => [
      ...processesMentioning('listen_addresses=127.0.0.1', process.pid),
      ...processesMentioning('redis-server', process.pid),
    ];
    const folders = () => readdirSync(os.tmpdir()).filter((name) => /^runbook-(pg|state)-/.test(name));
    // In band, this process is also the parent of the services the real setup started for this test run.
    const runningBefore = started();
    const foldersBefore = folders();
    Object.assign(process.env, { RUNBOOK_TEST_SKIP_BUILD: '1', RUNBOOK_TEST_SUITE: 'cluster' });
    delete process.env.RUNBOOK_TEMPORAL_SERVER_DIR;
    try {
      await expect(globalSetup()).rejects.toThrow(/RUNBOOK_TEMPORAL_SERVER_DIR is not set/);
    } finally {
      process.env = env;
      globalThis.__RUNBOOK_TEST_SERVICES__ = services;
    }
    await waitFor(async () => expect(started().filter((pid) => !runningBefore.includes(pid))).toEqual([]), 20_000, 200);
    expect(folders().filter((name) => !foldersBefore.includes(name))).toEqual([]);
  });
});
