/** Exit codes of the `runbook` CLI, one meaning each. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, unreachable: 3 } as const;

/** Bad input from the user: exit 2, one clear line and a hint, no stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly details: string[] = [],
    /** The command already printed this failure in its JSON result: only the exit code is left to set. */
    readonly reportedInResult = false,
  ) {
    super(message);
  }
}

/** The Temporal server could not be reached: exit 3. */
export class UnreachableError extends Error {
  constructor(
    readonly address: string,
    cause: string,
  ) {
    super(`cannot reach Temporal at ${address}: ${cause}`);
  }
}

/** A run that ended failed or rolled back: exit 1 (its outcome was already printed). */
export class RunFailedError extends Error {}
