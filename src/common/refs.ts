/**
 * Whether a ref may be deployed: `allowed` lists branch or tag names, with `*` matching any run of
 * characters except `/` (e.g. `v*`, `release/*`). No list means any ref.
 */
export function isRefAllowed(ref: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed || allowed.length === 0) return true;
  return allowed.some((pattern) => globToRegExp(pattern).test(ref));
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${escaped}$`);
}

/** A ref that is safe to hand to git/docker as one argument: no leading dash, no whitespace or control characters. */
export function isWellFormedRef(ref: string): boolean {
  return /^[A-Za-z0-9._/@+-]+$/.test(ref) && !ref.startsWith('-') && !ref.includes('..');
}
