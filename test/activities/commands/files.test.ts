import { copyTreeArgv } from '../../../src/activities/commands/files';

describe('file commands', () => {
  it('copies a whole folder, attributes and links included', () => {
    expect(copyTreeArgv('/srv/almareia/', '/srv/almareia.runbook/deploys/d1/before')).toEqual([
      'cp',
      '-a',
      '--',
      '/srv/almareia/.',
      '/srv/almareia.runbook/deploys/d1/before',
    ]);
  });
});
