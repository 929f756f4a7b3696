import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A bare repository (the app's `source.repo`) and a work tree the test commits versions from. */
export interface GitRepo {
  /** The bare repository's path, as a manifest's source.repo. */
  url: string;
  /**
   * Writes files (null deletes one) into the work tree, commits them, tags the commit when asked, pushes
   * branch and tags, and returns the commit id.
   */
  commit(files: Record<string, string | Buffer | null>, message: string, tag?: string): string;
}

export function createGitRepo(dir: string, branch = 'main'): GitRepo {
  const url = path.join(dir, 'origin.git');
  const work = path.join(dir, 'work');
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: work,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Seed Test',
        GIT_AUTHOR_EMAIL: 'seed@example.com',
        GIT_COMMITTER_NAME: 'Seed Test',
        GIT_COMMITTER_EMAIL: 'seed@example.com',
      },
    }).trim();
  execFileSync('git', ['init', '-q', '--bare', '-b', branch, url]);
  mkdirSync(work, { recursive: true });
  git('init', '-q', '-b', branch);
  git('remote', 'add', 'origin', url);
  return {
    url,
    commit(files, message, tag) {
      for (const [name, content] of Object.entries(files)) {
        const file = path.join(work, name);
        if (content === null) rmSync(file, { recursive: true, force: true });
        else {
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, content);
        }
      }
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      if (tag) git('tag', tag);
      git('push', '-q', 'origin', branch, '--tags');
      return git('rev-parse', 'HEAD');
    },
  };
}
