import {
  daemonReloadArgv,
  dropInPath,
  installFileArgv,
  systemctlArgv,
  unitName,
} from '../../../src/activities/commands/systemctl';

describe('systemctl argv', () => {
  it('runs a verb on a unit, as a --user unit or through sudo -n', () => {
    expect(systemctlArgv('restart', { unit: 'flowlog-web' })).toEqual(['systemctl', 'restart', 'flowlog-web']);
    expect(systemctlArgv('stop', { unit: 'w', user: true })).toEqual(['systemctl', '--user', 'stop', 'w']);
    expect(systemctlArgv('is-active', { unit: 'w', sudo: true })).toEqual([
      'sudo',
      '-n',
      'systemctl',
      'is-active',
      'w',
    ]);
  });

  it('reloads units, and installs a drop-in where systemd reads it', () => {
    expect(daemonReloadArgv({ sudo: true })).toEqual(['sudo', '-n', 'systemctl', 'daemon-reload']);
    expect(daemonReloadArgv({ user: true })).toEqual(['systemctl', '--user', 'daemon-reload']);
    expect(unitName('flowlog-web')).toBe('flowlog-web.service');
    expect(unitName('backup.timer')).toBe('backup.timer');
    expect(dropInPath({ unit: 'flowlog-web' }, 'runbook-environment.conf', '/home/u/.config')).toBe(
      '/etc/systemd/system/flowlog-web.service.d/runbook-environment.conf',
    );
    expect(dropInPath({ unit: 'w', user: true }, 'x.conf', '/home/u/.config')).toBe(
      '/home/u/.config/systemd/user/w.service.d/x.conf',
    );
    expect(
      installFileArgv({ sudo: true }, '/srv/a/.runbook/env/x.conf', '/etc/systemd/system/a.service.d/x.conf'),
    ).toEqual([
      'sudo',
      '-n',
      'install',
      '-D',
      '-m',
      '0644',
      '/srv/a/.runbook/env/x.conf',
      '/etc/systemd/system/a.service.d/x.conf',
    ]);
  });
});
