import { expandText } from '../../common/template';
import type { Job } from '../../manifest/types';

export interface JobHttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  expect: number[];
}

/**
 * The request of an HTTP job for one date. Placeholders in the URL are filled in URL-encoded (a value
 * cannot add a path segment or a query parameter); in a JSON body, inside string values only. The
 * Idempotency-Key header lets the receiving API recognise a retry of the same date.
 */
export function jobHttpRequest(
  http: NonNullable<Job['http']> & { url: string },
  values: Readonly<Record<string, string | undefined>>,
  idempotencyKey: string,
): JobHttpRequest {
  const encoded = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, v === undefined ? undefined : encodeURIComponent(v)]),
  );
  const headers: Record<string, string> = { 'Idempotency-Key': idempotencyKey, 'User-Agent': 'runbook-job' };
  const request: JobHttpRequest = {
    method: http.method,
    url: expandText(http.url, encoded),
    headers,
    expect: Array.isArray(http.expect) ? http.expect : [http.expect],
  };
  if (http.body !== undefined) {
    request.body =
      typeof http.body === 'string' ? expandText(http.body, values) : JSON.stringify(expandStrings(http.body, values));
    headers['Content-Type'] = typeof http.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  }
  return request;
}

function expandStrings(value: unknown, values: Readonly<Record<string, string | undefined>>): unknown {
  if (typeof value === 'string') return expandText(value, values);
  if (Array.isArray(value)) return value.map((v) => expandStrings(v, values));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandStrings(v, values)]));
  return value;
}
