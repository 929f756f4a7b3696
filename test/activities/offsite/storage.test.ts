import { keyPrefix, objectKey, sidecarKey } from '../../../src/activities/offsite/storage';

describe('where off-site copies go in a bucket', () => {
  const s3 = {
    bucket: 'backups',
    region: 'us-east-1',
    accessKeyIdEnv: 'AWS_ACCESS_KEY_ID',
    secretAccessKeyEnv: 'AWS_SECRET_ACCESS_KEY',
    partSizeMb: 16,
  };

  it('puts each app under its own prefix unless the manifest gives one', () => {
    expect(keyPrefix(s3, 'orquetask')).toBe('orquetask/');
    expect(keyPrefix({ ...s3, prefix: 'app-1/orquetask' }, 'orquetask')).toBe('app-1/orquetask/');
    expect(keyPrefix({ ...s3, prefix: '' }, 'orquetask')).toBe('');
  });

  it('names the copy after the artifact file, with .tar for a folder and .age when encrypted', () => {
    const dump = { app: 'orquetask', file: '/srv/orquetask/backups/orquetask-database-20250131T050000Z.dump' };
    expect(objectKey(s3, { ...dump, format: 'custom' }, false)).toBe(
      'orquetask/orquetask-database-20250131T050000Z.dump',
    );
    expect(objectKey(s3, { ...dump, format: 'custom' }, true)).toBe(
      'orquetask/orquetask-database-20250131T050000Z.dump.age',
    );
    expect(
      objectKey(s3, { app: 'etl', file: '/b/etl-audit-20250131T050000Z.dumpdir', format: 'directory' }, true),
    ).toBe('etl/etl-audit-20250131T050000Z.dumpdir.tar.age');
    expect(sidecarKey(s3, 'etl', 'etl-audit-20250131T050000Z')).toBe('etl/etl-audit-20250131T050000Z.entry.json');
  });
});
