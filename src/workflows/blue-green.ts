import { patched } from '@temporalio/workflow';
import type { Manifest } from '../manifest/types';

/** Deploys and rollbacks switch blue/green services behind their proxy instead of stopping them first. */
export const BLUE_GREEN_SWITCH = 'blue-green-switch';

/**
 * Whether this run switches blue/green services. Asked only for manifests that have one, so the runs of
 * every other app (and every history recorded before) carry no marker and replay as they ran.
 */
export function switchesBlueGreen(manifest: Manifest): boolean {
  return (
    manifest.services.some((service) => service.type === 'process' && service.blueGreen !== undefined) &&
    patched(BLUE_GREEN_SWITCH)
  );
}
