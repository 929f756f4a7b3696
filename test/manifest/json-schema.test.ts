import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { manifestJsonSchema } from '../../src/manifest/json-schema';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

describe('manifest JSON Schema export', () => {
  const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(
    manifestJsonSchema(),
  );

  it.each(['orquetask', 'financial-etl', 'flowlog', 'almareia', 'secretaria'])('accepts examples/%s.yaml', (name) => {
    const doc = parse(readFileSync(path.join(EXAMPLES, `${name}.yaml`), 'utf8'));
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
  });

  it('names credentials by environment variable: repoEnv, headersEnv, a job http urlEnv', () => {
    const manifest = {
      app: 'x',
      host: 'h',
      root: '/srv/x',
      source: { type: 'git', repoEnv: 'GIT_REPO_URL' },
      health: { checks: [{ http: 'http://127.0.0.1:5000/', headersEnv: { Authorization: 'API_TOKEN' } }] },
      jobs: [{ name: 'sync', http: { urlEnv: 'SYNC_URL', headersEnv: { 'X-Api-Key': 'SYNC_KEY' } } }],
    };
    expect(validate(manifest) ? [] : validate.errors).toEqual([]);
    expect(
      validate({
        ...manifest,
        health: { checks: [{ http: 'http://x/', headersEnv: { Authorization: 'Bearer abc' } }] },
      }),
    ).toBe(false);
  });

  it('rejects an unknown key and a wrong service type, as the CLI does', () => {
    expect(validate({ app: 'x', host: 'h', root: '/srv/x', source: { type: 'copy', from: '/s' }, helth: {} })).toBe(
      false,
    );
    expect(
      validate({
        app: 'x',
        host: 'h',
        root: '/srv/x',
        source: { type: 'copy', from: '/s' },
        services: [{ name: 'w', type: 'docker' }],
      }),
    ).toBe(false);
  });
});
