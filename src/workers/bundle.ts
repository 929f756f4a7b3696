import { existsSync } from 'node:fs';
import path from 'node:path';

/** The workflow bundle `npm run build` writes next to the compiled code, so workers start without webpack. */
export const PREBUILT_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

/** The same workflows with failure messages moved into encrypted attributes (payload encryption on). */
export function encodedFailuresBundle(bundle: string): string {
  return bundle.replace(/\.js$/, '-encoded-failures.js');
}

/** The workflows' entry file: compiled JS beside this module, or the TypeScript source under ts-jest/swc. */
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows', 'index');

export function workflowSource(
  options: { encodedFailures?: boolean } = {},
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const variant = (bundle: string) => (options.encodedFailures ? encodedFailuresBundle(bundle) : bundle);
  const fromEnv = process.env.RUNBOOK_WORKFLOW_BUNDLE;
  if (fromEnv) return { workflowBundle: { codePath: variant(fromEnv) } };
  if (existsSync(variant(PREBUILT_BUNDLE))) return { workflowBundle: { codePath: variant(PREBUILT_BUNDLE) } };
  // Without a prebuilt bundle the SDK bundles at start, with the worker's failure converter.
  return { workflowsPath: require.resolve(WORKFLOWS_PATH) };
}
