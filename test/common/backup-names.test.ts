import { scratchDatabaseName } from '../../src/common/backup-names';

describe('scratchDatabaseName', () => {
  it('gives two backups of one app made within one second different scratch databases', () => {
    const stamp = '20261130T220000Z';
    const scheduled = scratchDatabaseName('shop', 'verify', stamp, 'shop-db-20261130T220000Z');
    const manual = scratchDatabaseName('shop', 'verify', stamp, 'shop-db-20261130T220000Z-2');
    expect(scheduled).not.toBe(manual);
    expect(scheduled).toMatch(/^shop_verify_20261130t220000z_[0-9a-f]{8}$/);
  });

  it('keeps its unique end within PostgreSQL’s 63 bytes for a long app name', () => {
    const app = 'a'.repeat(70);
    const one = scratchDatabaseName(app, 'drill', '20261130T220000Z', 'drill-one');
    const two = scratchDatabaseName(app, 'drill', '20261130T220000Z', 'drill-two');
    expect(one).toHaveLength(63);
    expect(one).not.toBe(two);
  });

  it('is as before without a unique part (runs started before the change)', () => {
    expect(scratchDatabaseName('Shop-Web', 'restore', '20261130T220000Z')).toBe('shop_web_restore_20261130t220000z');
  });
});
