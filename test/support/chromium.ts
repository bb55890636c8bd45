import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

// Debian's headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// JSON messages ended by NUL on fds 3 and 4). No port, no WebSocket client, no npm package that
// would download a browser or pin a protocol version the system Chromium does not speak.

/** The system Chromium, or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export interface Page {
  /** Evaluates an expression in the page and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy; fails after `ms` with `what` and the page's text. */
  waitFor(expression: string, ms: number, what: string): Promise<void>;
  screenshot(): Promise<Buffer>;
}

export interface Browser {
  open(url: string, size?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  method: string;
}

const CALL_TIMEOUT_MS = 15_000;

export async function launchChromium(): Promise<Browser> {
  const executable = chromiumPath();
  if (!executable) throw new Error('Chromium is not installed: apt-get install -y chromium');
  const profile = mkdtempSync(join(tmpdir(), 'multi-mcp-chromium-'));
  const child: ChildProcess = spawn(
    executable,
    [
      '--headless',
      '--remote-debugging-pipe',
      '--no-sandbox', // CI runs as root, where Chromium's sandbox refuses to start
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let buffered = '';
  output.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let end: number;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const message = JSON.parse(buffered.slice(0, end)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      buffered = buffered.slice(end + 1);
      const waiter = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiter) continue;
      pending.delete(message.id as number);
      if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
      else waiter.resolve(message.result ?? {});
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const waiter of pending.values())
      waiter.reject(new Error(`Chromium exited (${code}) during ${waiter.method}:\n${stderr}`));
    pending.clear();
  });

  const send = (
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no answer from Chromium within ${CALL_TIMEOUT_MS} ms:\n${stderr}`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, {
        method,
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      input.write(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }) + '\0');
    });

  await send('Browser.getVersion');

  return {
    async open(url, size = { width: 1200, height: 900 }) {
      const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as {
        targetId: string;
      };
      const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as {
        sessionId: string;
      };
      await send(
        'Emulation.setDeviceMetricsOverride',
        { ...size, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      await send('Page.enable', {}, sessionId);
      await send('Page.navigate', { url }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const answer = (await send(
          'Runtime.evaluate',
          { expression, returnByValue: true, awaitPromise: true },
          sessionId,
        )) as { result: { value?: T }; exceptionDetails?: { text: string } };
        if (answer.exceptionDetails) throw new Error(`${expression}: ${answer.exceptionDetails.text}`);
        return answer.result.value as T;
      };
      return {
        evaluate,
        async waitFor(expression, ms, what) {
          const deadline = Date.now() + ms;
          for (;;) {
            if (await evaluate<boolean>(`Boolean(${expression})`).catch(() => false)) return;
            if (Date.now() > deadline) {
              const text = await evaluate<string>('document.body ? document.body.innerText : ""').catch(
                (error: unknown) => String(error),
              );
              throw new Error(`${what}: not shown within ${ms} ms; the page shows:\n${text}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        },
        async screenshot() {
          // The whole page, not only the viewport: the artifact should show everything the test saw.
          const { cssContentSize } = (await send('Page.getLayoutMetrics', {}, sessionId)) as {
            cssContentSize: { width: number; height: number };
          };
          const clip = { x: 0, y: 0, width: cssContentSize.width, height: cssContentSize.height, scale: 1 };
          const { data } = (await send(
            'Page.captureScreenshot',
            { format: 'png', clip, captureBeyondViewport: true },
            sessionId,
          )) as {
            data: string;
          };
          return Buffer.from(data, 'base64');
        },
      };
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        await send('Browser.close').catch(() => {});
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
