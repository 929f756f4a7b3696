import type { Manifest } from '../manifest/types';
import { requireEnv } from './environment';

/*
 * A compose app's .env names its database as the containers see it (postgres://…@postgres:5432/…), a host name
 * that does not resolve on the host where checks, snapshots, backups and restores run. A compose service's
 * `published` map says where the host reaches each such service instead (its published port).
 */

/** The published host:port of each compose service name the manifest maps (later services win). */
export function publishedAddresses(manifest: Pick<Manifest, 'services'>): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const service of manifest.services)
    if (service.type === 'compose') Object.assign(addresses, service.published ?? {});
  return addresses;
}

const AUTHORITY = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/?#]*@)?([^:/?#]+)(:\d+)?/;

/** `url` with a mapped service host (and its port) replaced by its published address; anything else as is. Pure. */
export function hostReachableUrl(url: string, published: Record<string, string>): string {
  const match = AUTHORITY.exec(url);
  if (!match) return url;
  const [whole, scheme, userinfo = '', host] = match;
  const address = Object.prototype.hasOwnProperty.call(published, host) ? published[host] : undefined;
  if (address === undefined) return url;
  return `${scheme}${userinfo}${address}${url.slice(whole.length)}`;
}

/** A service URL named by the manifest (`urlEnv`), as the host reaches it. */
export function serviceUrlFromEnv(
  manifest: Pick<Manifest, 'services' | 'env'>,
  env: NodeJS.ProcessEnv,
  name: string,
  purpose: string,
): string {
  return hostReachableUrl(requireEnv(env, name, purpose, manifest), publishedAddresses(manifest));
}
