import { existsSync } from 'node:fs';
import path from 'node:path';

/** The workflow bundle `npm run build` writes next to the compiled code, so workers start without webpack. */
export const PREBUILT_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

/** The workflows' entry file: compiled JS beside this module, or the TypeScript source under ts-jest/swc. */
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows', 'index');

export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const fromEnv = process.env.RUNBOOK_WORKFLOW_BUNDLE;
  if (fromEnv) return { workflowBundle: { codePath: fromEnv } };
  if (existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  return { workflowsPath: require.resolve(WORKFLOWS_PATH) };
}
