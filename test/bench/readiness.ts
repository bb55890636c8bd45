// Bounded readiness checks: every wait has a deadline and gives up early, with the server's log, when the
// server has already exited.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { logTail, type Started } from './processes.js';

const POLL_MS = 100;

function portAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export interface ReadyCheck {
  host: string;
  port: number;
  /** A URL that must answer 200 once the port accepts, e.g. the proxy's /readyz. */
  okUrl?: string;
}

export async function waitReady(server: Started, check: ReadyCheck, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let portOpen = false;
  while (Date.now() < deadline) {
    if (server.exit) {
      throw new Error(
        `${server.name} exited (${server.exit}) before it was ready:\n${logTail(server.logFile)}`,
      );
    }
    portOpen ||= await portAccepts(check.host, check.port);
    if (portOpen && (!check.okUrl || (await httpOk(check.okUrl)))) return;
    await sleep(POLL_MS);
  }
  const waitingFor = portOpen ? `200 from ${check.okUrl}` : `port ${check.port}`;
  throw new Error(
    `${server.name} not ready within ${timeoutMs / 1000} s (no ${waitingFor}):\n${logTail(server.logFile)}`,
  );
}

export { freePort } from '../support/net.js';
