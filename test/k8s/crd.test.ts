import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/controlplane.js';
import { freshNamespace, kubectl, kubectlJson } from '../harness/k8s.js';

// The real McpServer CRD (crds/, generated from operator/src/api and installed by the global setup)
// on the real API server: structural schema, CEL rules, defaults, status subresource, printer columns.

interface McpServerObject {
  metadata: { name: string; generation: number };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function mcpServer(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'multi-mcp.io/v1alpha1', kind: 'McpServer', metadata: { name }, spec });
}

describe('the McpServer CRD on the real API server', () => {
  it('accepts each mode and applies schema defaults', async () => {
    const ns = await freshNamespace('crd');
    await kubectl(['create', '-n', ns, '-f', '-'], {
      input: mcpServer('stdio', { command: 'node', args: ['server.js'], env: [{ name: 'A', value: '1' }] }),
    });
    await kubectl(['create', '-n', ns, '-f', '-'], {
      input: mcpServer('remote', {
        url: 'https://mcp.example.com/mcp',
        transport: 'streamable-http',
        headers: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'token', key: 'value' } } }],
      }),
    });
    await kubectl(['create', '-n', ns, '-f', '-'], {
      input: mcpServer('deployed', { deployment: { image: 'ghcr.io/example/weather:1' } }),
    });
    const deployed = await kubectlJson<McpServerObject>(['get', '-n', ns, 'mcps', 'deployed']);
    expect(deployed.spec).toEqual({
      deployment: { image: 'ghcr.io/example/weather:1', port: 8080, path: '/mcp', replicas: 1 },
    });
    expect(deployed.metadata.generation).toBe(1);
  });

  it('accepts every sample in config/samples, with -f on the folder (as the README says) and with -k', async () => {
    const ns = await freshNamespace('crd-samples');
    for (const how of ['-f', '-k']) {
      const result = await kubectl(
        ['apply', '--dry-run=server', '-n', ns, how, `${join(repoRoot, 'config/samples')}/`],
        { allowFailure: true },
      );
      expect(result.code, `${how}: ${result.stderr}`).toBe(0);
      for (const name of ['calculator', 'everything', 'weather'])
        expect(result.stdout, how).toContain(`mcpserver.multi-mcp.io/${name} created (server dry run)`);
      expect(result.stdout, how).toContain('secret/everything-token created (server dry run)');
    }
  });

  it.each([
    [
      'none of command/url/deployment',
      { prefix: 'x' },
      ['set exactly one of command', 'url (a remote server)'],
    ],
    ['two of them', { command: 'node', url: 'http://a.test' }, ['set exactly one of command']],
    ['a bad URL', { url: 'ftp://a.test/x' }, ['spec.url', 'url must be an absolute http:// or https:// URL']],
    ['a URL that is no URL', { url: 'not a url' }, ['spec.url', 'url must be an absolute http://']],
    ['a bad prefix', { url: 'http://a.test', prefix: 'no spaces' }, ['spec.prefix', 'prefix must be empty']],
    ['env on a remote server', { url: 'http://a.test', env: [{ name: 'A', value: '1' }] }, ['spec.env']],
    [
      'a header with neither value nor secret',
      { url: 'http://a.test', headers: [{ name: 'X-Key' }] },
      ['spec.headers[0]', 'a header needs exactly one of value or valueFrom.secretKeyRef'],
    ],
    ['a timeout out of range', { url: 'http://a.test', timeoutSeconds: 0 }, ['spec.timeoutSeconds']],
    ['an unknown transport', { url: 'http://a.test', transport: 'carrier-pigeon' }, ['spec.transport']],
  ])('rejects %s with a message naming the field', async (_title, spec, fragments) => {
    const ns = await freshNamespace('crd-bad');
    const result = await kubectl(['create', '-n', ns, '-f', '-'], {
      input: mcpServer('bad', spec),
      allowFailure: true,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('is invalid');
    for (const fragment of fragments) expect(result.stderr).toContain(fragment);
  });

  it('keeps status behind the status subresource, shows it in kubectl get mcps', async () => {
    const ns = await freshNamespace('crd-status');
    await kubectl(['create', '-n', ns, '-f', '-'], { input: mcpServer('w', { url: 'http://a.test/mcp' }) });
    const status = {
      transport: 'streamable-http',
      prefix: 'w',
      synced: '2/2',
      toolCount: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: 'ok',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    // Through the main resource status is ignored; through /status it is stored without a generation bump.
    await kubectl(['patch', '-n', ns, 'mcps', 'w', '--type=merge', '-p', JSON.stringify({ status })]);
    expect((await kubectlJson<McpServerObject>(['get', '-n', ns, 'mcps', 'w'])).status).toBeUndefined();
    await kubectl([
      'patch',
      '-n',
      ns,
      'mcps',
      'w',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
    const w = await kubectlJson<McpServerObject>(['get', '-n', ns, 'mcps', 'w']);
    expect(w.status).toMatchObject(status);
    expect(w.metadata.generation).toBe(1);

    const bad = await kubectl(
      [
        'patch',
        '-n',
        ns,
        'mcps',
        'w',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"toolCount":-1}}',
      ],
      { allowFailure: true },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('status.toolCount');

    await kubectl(['patch', '-n', ns, 'mcps', 'w', '--type=merge', '-p', '{"spec":{"prefix":"v"}}']);
    expect((await kubectlJson<McpServerObject>(['get', '-n', ns, 'mcps', 'w'])).metadata.generation).toBe(2);

    const table = await kubectl(['get', '-n', ns, 'mcpservers']);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'TRANSPORT', 'PREFIX', 'READY', 'TOOLS', 'SYNCED', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 6)).toEqual(['w', 'streamable-http', 'w', 'True', '3', '2/2']);
  });
});
