/** Bad input from the user (the CLI exits 2): one clear line and a hint, no stack trace. */
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

/** The Temporal server could not be reached (the CLI exits 3). */
export class UnreachableError extends Error {
  constructor(
    readonly address: string,
    cause: string,
  ) {
    super(`cannot reach Temporal at ${address}: ${cause}`);
  }
}

/** A run that ended failed or rolled back (the CLI exits 1; its outcome was already printed). */
export class RunFailedError extends Error {}
