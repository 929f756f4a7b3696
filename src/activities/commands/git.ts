/** argv for fetching a ref into a release directory from a local mirror of the app's repository. */

export function gitMirrorCloneArgv(repo: string, mirrorDir: string): string[] {
  return ['git', 'clone', '--mirror', '--quiet', '--', repo, mirrorDir];
}

export function gitFetchArgv(mirrorDir: string): string[] {
  return ['git', '--git-dir', mirrorDir, 'fetch', '--prune', '--quiet', '--tags', 'origin'];
}

/** Resolves a branch, tag or commit to a commit id; `^{commit}` rejects refs that are not commits. */
export function gitResolveArgv(mirrorDir: string, ref: string): string[] {
  return ['git', '--git-dir', mirrorDir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`];
}

/** Writes the files of a commit into a directory that is not a repository (the release). */
export function gitCheckoutIntoArgv(mirrorDir: string, workTree: string, commit: string): string[] {
  return ['git', '--git-dir', mirrorDir, '--work-tree', workTree, 'checkout', '--force', commit, '--', '.'];
}
