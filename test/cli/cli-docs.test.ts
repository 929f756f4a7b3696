import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderCliDocs } from '../../src/cli/cli-docs';
import { runCli } from '../support/cli';

const DOCS = path.resolve(__dirname, '..', '..', 'docs', 'cli.md');

describe('docs/cli.md, the CLI reference', () => {
  const docs = readFileSync(DOCS, 'utf8');

  it('is what the commands print for --help today (run `npm run docs:cli` after changing a command)', () => {
    expect(docs).toBe(renderCliDocs());
  });

  it.each(['deploy', 'job run', 'history'])(
    "holds the built binary's own `runbook %s --help`, verbatim",
    async (name) => {
      const command = name.split(' ');
      const result = await runCli([...command, '--help']);
      expect(result.code).toBe(0);
      expect(docs).toContain(`## \`runbook ${command.join(' ')}\`\n\n\`\`\`text\n${result.stdout.trimEnd()}\n\`\`\``);
    },
  );

  it('shows an example in the help of every command', () => {
    const sections = docs.split(/^## /m).slice(1);
    expect(sections.length).toBeGreaterThan(15);
    for (const section of sections)
      expect([section.split('\n')[0], /\nExamples?:\n {2}\$ runbook /.test(section)]).toEqual([
        section.split('\n')[0],
        true,
      ]);
  });
});
