import { z } from 'zod';
import { manifestSchema } from './schema';

/** The manifest's JSON Schema, for editors (yaml-language-server) and other tools. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'Runbook app manifest',
  };
}
