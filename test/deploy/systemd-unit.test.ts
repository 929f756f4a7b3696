import { readFileSync } from 'node:fs';
import path from 'node:path';

const UNIT = path.resolve(__dirname, '..', '..', 'deploy', 'systemd', 'runbook-worker@.service');

/** The [Service] settings of the shipped unit, as systemd reads them (last assignment wins). */
function serviceSettings(): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(UNIT, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') {
      const [key, ...value] = line.split('=');
      settings.set(key, [...(settings.get(key) ?? []), value.join('=')]);
    }
  }
  return settings;
}

// What the code relies on from the unit; systemd's own behaviour with it is tested on a real systemd.
describe('deploy/systemd/runbook-worker@.service', () => {
  const settings = serviceSettings();

  it('stops only the worker on a restart, so the process services it started keep serving', () => {
    expect(settings.get('KillMode')).toEqual(['process']);
    expect(settings.get('Delegate')).toEqual(['yes']);
  });

  it('runs as a named user, with a private state folder that the worker is told about', () => {
    expect(settings.get('User')).toEqual(['runbook']);
    expect(settings.get('StateDirectory')).toEqual(['runbook/%i']);
    expect(settings.get('StateDirectoryMode')).toEqual(['0700']);
    expect(settings.get('Environment')).toContain('RUNBOOK_STATE_DIR=%S/runbook/%i');
  });
});
