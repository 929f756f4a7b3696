import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findManifest, knownApps, manifestsDirFrom } from '../../src/manifest/lookup';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

describe('finding an app manifest', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lookup-'));
    copyFileSync(path.join(EXAMPLES, 'almareia.yaml'), path.join(dir, 'almareia.yaml'));
    copyFileSync(path.join(EXAMPLES, 'almareia.yaml'), path.join(dir, 'renamed.yml'));
    writeFileSync(path.join(dir, 'broken.yaml'), 'app: broken\nroot: relative/path\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a valid manifest by app name', () => {
    const found = findManifest(dir, 'almareia');
    expect(found.ok && [found.file, found.manifest.app]).toEqual([path.join(dir, 'almareia.yaml'), 'almareia']);
    expect(knownApps(dir).sort()).toEqual(['almareia', 'broken', 'renamed']);
  });

  it('says what is wrong and what to do, for the CLI and the workers alike', () => {
    expect(findManifest(dir, '../etc/passwd')).toMatchObject({
      ok: false,
      reason: 'bad-name',
      message: "'../etc/passwd' is not a valid app name",
    });
    expect(findManifest(dir, 'shop')).toMatchObject({
      ok: false,
      reason: 'not-found',
      message: `no manifest for app 'shop' in ${dir} (RUNBOOK_MANIFESTS)`,
      hint: 'known apps: almareia, broken, renamed',
    });
    const broken = findManifest(dir, 'broken');
    expect(broken).toMatchObject({ ok: false, reason: 'invalid', hint: expect.stringContaining('runbook validate') });
    expect(!broken.ok && broken.details).toEqual(expect.arrayContaining([expect.stringMatching(/root/)]));
    expect(findManifest(dir, 'renamed')).toMatchObject({
      ok: false,
      reason: 'wrong-app',
      message: `${path.join(dir, 'renamed.yml')} declares app 'almareia', not 'renamed'`,
    });
    const empty = mkdtempSync(path.join(os.tmpdir(), 'lookup-empty-'));
    expect(findManifest(empty, 'shop')).toMatchObject({ hint: expect.stringMatching(/RUNBOOK_MANIFESTS/) });
    rmSync(empty, { recursive: true });
  });

  it('reads the folder from RUNBOOK_MANIFESTS, default ./apps', () => {
    expect(manifestsDirFrom({ RUNBOOK_MANIFESTS: '/etc/runbook' })).toBe('/etc/runbook');
    expect(manifestsDirFrom({})).toBe(path.resolve('apps'));
  });
});
