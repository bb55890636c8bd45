// Capacity: a raw HTTP load generator keeps `connections` requests in flight for a fixed time. Unlike the
// SDK client runs it measures the server side only (no client-side JSON-RPC bookkeeping), which is what
// the self-contained 2026-07-28 request is designed for: any request can go to any replica.
import autocannon from 'autocannon';
import { withTimeout } from './timeout.js';
import { verifyEcho, type RawRequest } from './wire.js';

export interface CapacityResult {
  requestsPerSec: number;
  /** autocannon records latency in whole milliseconds. */
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  total: number;
}

export async function hammer(
  url: string,
  request: RawRequest,
  seconds: number,
  connections: number,
): Promise<CapacityResult> {
  await verifyEcho(url, request);
  const run = autocannon({
    url,
    method: 'POST',
    headers: request.headers,
    body: request.body,
    idReplacement: true,
    connections,
    duration: seconds,
    timeout: 10,
  });
  const result = await withTimeout(`autocannon against ${url}`, (seconds + 30) * 1000, run);
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    total: result.requests.total,
  };
}
