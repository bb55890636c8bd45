import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from '../support/chromium.js';
import { launchChromium } from '../support/chromium.js';
import { fixture, repoRoot, writeTempFile } from './support/paths.js';
import type { RunningProxy } from './support/processes.js';
import { startHttpProxy, stopAll } from './support/processes.js';

// The status page as an operator sees it: the system's headless Chromium loads GET / from a
// running proxy with one healthy and one failing backend, and the test reads what is on screen.

const SHOWN_MS = 15_000; // several polls of the page (2 s) plus a backend's start-up
const artifacts = join(repoRoot, 'test-results');

let proxy: RunningProxy;
let browser: Browser;
let page: Page;

const text = (needle: string): string => `document.body.innerText.includes(${JSON.stringify(needle)})`;

beforeAll(async () => {
  const config = writeTempFile('mcp.json', {
    mcpServers: {
      calculator: fixture('calculator.ts'),
      broken: { ...fixture('crash-at-start.ts'), env: { API_KEY: 'sk-do-not-show-me' } },
      // Registered after calculator under the same prefix: every one of its tools collides.
      calc_copy: { ...fixture('calculator.ts'), prefix: 'calculator' },
    },
    virtualServers: {
      // One backend that exists, one that does not (yet), two of the calculator's tools.
      team: {
        backends: ['calculator', 'ghost'],
        tools: { include: ['calculator__add', 'calculator__subtract'] },
      },
    },
  });
  [proxy, browser] = await Promise.all([startHttpProxy(config), launchChromium()]);
  page = await browser.open(`${proxy.url}/`);
  mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe('status page in a real browser', () => {
  it('shows both backends, the failing one with its error, and the healthy one with its tools', async () => {
    await page.waitFor(
      `document.querySelector('[data-backend="calculator"] .pill.ready')`,
      SHOWN_MS,
      'calculator ready',
    );
    // It keeps failing and being restarted with backoff; the page catches it in `failed`.
    await page.waitFor(
      `document.querySelector('[data-backend="broken"] .pill.failed')`,
      SHOWN_MS,
      'broken failed',
    );
    // The error itself, the same words the admin API reports, not just "failed".
    const status = (await (await fetch(`${proxy.url}/mcp_servers/broken`)).json()) as { error: string };
    expect(status.error).toBeTruthy();
    // Why it failed, in the program's own words, with the credential it printed masked.
    expect(status.error).toContain('crash-at-start: failing on purpose before initialize');
    expect(status.error).toContain('API_KEY <redacted> refused');
    await page.waitFor(
      `document.querySelector('[data-backend="broken"] .error').innerText === ${JSON.stringify(status.error)}`,
      SHOWN_MS,
      "broken's error",
    );
    await page.evaluate(`document.querySelector('[data-backend="calculator"] details').open = true`);
    await page.waitFor(text('calculator__add'), SHOWN_MS, 'the tool calculator__add');
    await page.waitFor(text('Name collisions'), SHOWN_MS, 'the collisions');
    const collision = await page.evaluate<string>(
      `[...document.querySelectorAll('#collisions tr')].map((r) => r.innerText).find((t) => t.includes('calculator__add'))`,
    );
    expect(collision?.split(/\s+/)).toEqual(['tool', 'calculator__add', 'calculator', 'calc_copy']);
    expect(
      await page.evaluate<string>(`document.querySelector('[data-backend="calc_copy"]').innerText`),
      // its 4 tools, its prompt and its resource URI
    ).toContain('6 names lost to collisions');
    const body = await page.evaluate<string>('document.body.innerText');
    expect(body).not.toContain('sk-do-not-show-me');
    const html = await page.evaluate<string>('document.documentElement.outerHTML');
    expect(html).not.toContain('sk-do-not-show-me');
    writeFileSync(join(artifacts, 'status-page.png'), await page.screenshot());
  });

  it('shows each virtual server with its tool count and the backends it misses', async () => {
    const card = `document.querySelector('[data-virtual-server="team"]')`;
    await page.waitFor(`${card}?.innerText.includes('2 tools')`, SHOWN_MS, 'the virtual server team');
    const shown = await page.evaluate<string>(`${card}.innerText`);
    expect(shown).toContain('/mcp/team');
    expect(shown).toContain('backends calculator, ghost');
    expect(await page.evaluate<string>(`${card}.querySelector('[role="alert"]').innerText`)).toBe(
      'missing backend (not registered, so it contributes nothing): ghost',
    );
    expect(await page.evaluate<string>('document.body.innerText')).toContain('Virtual servers');
  });

  it('shows a tool quarantined because its definition no longer matches its pin, and how to approve it', async () => {
    const added = await fetch(`${proxy.url}/mcp_servers/dict`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...fixture('drifting.ts'),
        tools: { pins: { lookup: `sha256:${'0'.repeat(64)}` } },
      }),
      signal: AbortSignal.timeout(SHOWN_MS),
    });
    expect(added.status).toBe(201);
    await page.waitFor(
      `document.querySelector('[data-backend="dict"] .error')?.innerText.includes('quarantined, definition changed since pinned: lookup')`,
      SHOWN_MS,
      "dict's quarantined tool",
    );
    expect(
      await page.evaluate<string>(`document.querySelector('[data-backend="dict"]').innerText`),
    ).toContain('POST /mcp_servers/dict/pins');
  });

  it('shows a backend added through the admin API without a reload', async () => {
    await page.evaluate('window.__notReloaded = true');
    const added = await fetch(`${proxy.url}/mcp_servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpServers: { weather: fixture('weather.ts') } }),
      signal: AbortSignal.timeout(SHOWN_MS),
    });
    // POST answers 200 as the original multi-mcp did (its own lifecycle test asserts 200).
    expect(added.status).toBe(200);
    await page.waitFor(
      `document.querySelector('[data-backend="weather"] .pill.ready')`,
      SHOWN_MS,
      'weather ready',
    );
    expect(await page.evaluate<boolean>('window.__notReloaded === true')).toBe(true);
    writeFileSync(join(artifacts, 'status-page-added.png'), await page.screenshot());
  });
});
