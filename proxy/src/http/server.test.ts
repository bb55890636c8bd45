import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as V1SseTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { CLOSE_GRACE_MS, startHttpFrontDoor } from './server.js';
import { defaultHttpOptions, startHarness } from './testing.js';

describe('startHttpFrontDoor', () => {
  it('binds port 0 to a free port and reports it in url', async () => {
    const h = await startHarness({ port: 0 });
    try {
      expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(h.url).not.toMatch(/:0$/);
      expect((await h.call('GET', '/healthz')).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('rejects with an actionable error when the port is taken', async () => {
    const h = await startHarness();
    try {
      const port = Number(new URL(h.url).port);
      await expect(
        startHttpFrontDoor(h.proxy, silentLogger, { ...defaultHttpOptions, port }),
      ).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: .*--port/);
    } finally {
      await h.close();
    }
  });

  it('close() ends every session and stream promptly, and is idempotent', async () => {
    const h = await startHarness();
    await h.proxy.markReadyWhenSettled(1_000);
    const overHttp = new V1Client({ name: 'v1-http', version: '1.0.0' });
    const overSse = new V1Client({ name: 'v1-sse', version: '1.0.0' });
    let sseEnded = false;
    await overHttp.connect(new V1HttpTransport(new URL(`${h.url}/mcp`)));
    const sseTransport = new V1SseTransport(new URL(`${h.url}/sse`));
    await overSse.connect(sseTransport);
    // The v1 SSE client reports a server-ended stream as an error (and would silently reconnect).
    sseTransport.onerror = () => (sseEnded = true);
    expect(h.proxy.gateway.sessionCount()).toBe(2);

    const started = Date.now();
    await Promise.all([h.frontDoor.close(), h.frontDoor.close()]);
    // Streams end with their sessions, so close() never needs the grace it gives busy requests.
    const took = Date.now() - started;
    expect(took).toBeLessThan(CLOSE_GRACE_MS);
    expect(h.proxy.gateway.sessionCount()).toBe(0);
    await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (!sseEnded && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sseEnded).toBe(true);
    await overHttp.close();
    await overSse.close();
    await h.close();
  });
});
