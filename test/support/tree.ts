import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * Every entry of a folder tree — path, kind, permission bits, symlink target, file content — as one line
 * each, sorted: two trees with the same listing hold exactly the same files. `skip` leaves out paths
 * (relative, exact) whose content is expected to differ.
 */
export function treeListing(dir: string, skip: string[] = []): string[] {
  const lines: string[] = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(dir, relative)).sort()) {
      const entry = relative ? `${relative}/${name}` : name;
      if (skip.includes(entry)) continue;
      const absolute = path.join(dir, entry);
      const stats = lstatSync(absolute);
      const mode = (stats.mode & 0o777).toString(8);
      if (stats.isSymbolicLink()) lines.push(`${entry} link ${readlinkSync(absolute)}`);
      else if (stats.isDirectory()) {
        lines.push(`${entry}/ dir ${mode}`);
        walk(entry);
      } else lines.push(`${entry} file ${mode} ${createHash('sha256').update(readFileSync(absolute)).digest('hex')}`);
    }
  };
  walk('');
  return lines;
}

export function treeHash(dir: string, skip: string[] = []): string {
  return createHash('sha256').update(treeListing(dir, skip).join('\n')).digest('hex');
}
