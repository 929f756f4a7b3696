import { DefaultFailureConverter } from '@temporalio/common';

/**
 * With payload encryption on, a failure's message and stack trace (which name the app, the ref and command
 * output) travel in its encoded attributes, so the codec encrypts them. Loaded by the workers and, through
 * the encrypted workflow bundle, inside workflows.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
