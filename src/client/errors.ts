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

/** What kept a connection to Temporal from working, so the message and the hint can name it. */
export type ConnectionProblem =
  | 'unreachable'
  | 'tls-expected'
  | 'not-tls'
  | 'server-certificate'
  | 'server-name'
  | 'client-certificate'
  | 'client-key'
  | 'credentials'
  | 'namespace';

/** Temporal could not be reached, or refused the connection's TLS, credentials or namespace (the CLI exits 3). */
export class UnreachableError extends Error {
  constructor(
    readonly address: string,
    cause: string,
    readonly problem: ConnectionProblem = 'unreachable',
    readonly hint?: string,
  ) {
    super(`${problem === 'unreachable' ? 'cannot reach' : 'cannot connect to'} Temporal at ${address}: ${cause}`);
  }
}

/** A run that ended failed or rolled back (the CLI exits 1; its outcome was already printed). */
export class RunFailedError extends Error {}
