import { parseSystemctlShow, systemctlShowArgv } from '../../../src/activities/commands/systemctl';

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
