import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { dynamicConfigArgs, RUNBOOK_DYNAMIC_CONFIG } from '../../src/devserver/dynamic-config';

const CLUSTER_FILE = path.resolve(__dirname, '..', '..', 'deploy', 'temporal', 'dynamicconfig.yaml');

describe('the server settings Runbook runs on', () => {
  it('become start-dev flags with JSON values', () => {
    expect(dynamicConfigArgs({ 'history.transferProcessorMaxPollRPS': 1000, 'system.flag': true })).toEqual([
      '--dynamic-config-value',
      'history.transferProcessorMaxPollRPS=1000',
      '--dynamic-config-value',
      'system.flag=true',
    ]);
  });

  it("are the cluster's dynamic configuration, value for value, for every namespace and queue", () => {
    const file = parse(readFileSync(CLUSTER_FILE, 'utf8')) as Record<string, unknown>;
    const expected = Object.fromEntries(
      Object.entries(RUNBOOK_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value, constraints: {} }]]),
    );
    expect(file).toEqual(expected);
  });

  it('lift the history queue readers above their 20 loads a second', () => {
    expect(RUNBOOK_DYNAMIC_CONFIG['history.transferProcessorMaxPollRPS']).toBeGreaterThan(20);
    expect(RUNBOOK_DYNAMIC_CONFIG['history.timerProcessorMaxPollRPS']).toBeGreaterThan(20);
  });
});
