import { workflowInfo } from '@temporalio/workflow';
import type { z } from 'zod';
import { parseInput } from '../common/workflow-inputs';

/**
 * The workflow's input checked against its schema (src/common/workflow-inputs.ts). Call it first, before search
 * attributes or any activity: a bad input fails the run at once with a non-retryable `BadInput` naming the
 * field and what to send instead.
 */
export function validInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  return parseInput(schema, raw, workflowInfo().workflowType);
}
