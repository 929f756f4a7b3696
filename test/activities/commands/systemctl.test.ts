import {
  daemonReloadArgv,
  dropInPath,
  installFileArgv,
  parseSystemctlShow,
  systemctlArgv,
  systemctlShowArgv,
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

describe('systemctl show (what the bake reads of a unit)', () => {
  it('asks for state, main pid, restarts, memory and CPU; --user and sudo -n as for the other verbs', () => {
    const properties = [
      '--property=ActiveState',
      '--property=MainPID',
      '--property=NRestarts',
      '--property=MemoryCurrent',
      '--property=CPUUsageNSec',
    ];
    expect(systemctlShowArgv({ unit: 'flowlog-web' })).toEqual(['systemctl', 'show', 'flowlog-web', ...properties]);
    expect(systemctlShowArgv({ unit: 'flowlog-web', user: true, sudo: true })).toEqual([
      'sudo',
      '-n',
      'systemctl',
      '--user',
      'show',
      'flowlog-web',
      ...properties,
    ]);
  });

  it('reads Key=value lines, leaving out what systemd does not know', () => {
    expect(
      parseSystemctlShow(
        'ActiveState=active\nMainPID=4242\nNRestarts=2\nMemoryCurrent=[not set]\nCPUUsageNSec=1500000000\nJunk\n',
      ),
    ).toEqual({ ActiveState: 'active', MainPID: '4242', NRestarts: '2', CPUUsageNSec: '1500000000' });
  });
});
