import { describe, expect, it } from 'vitest';
import { freshNamespace, kubectl, kubectlJson } from '../harness/k8s.js';

interface Service {
  spec: { clusterIP: string; clusterIPs: string[]; ports: { port: number; targetPort: number }[] };
}

describe('Services', () => {
  it('get a ClusterIP from the service range (10.0.0.0/24) without any controller', async () => {
    const ns = await freshNamespace('svc');
    await kubectl(['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', ns]);
    await kubectl(['create', 'service', 'clusterip', 'api', '--tcp=8080:8080', '-n', ns]);
    const web = await kubectlJson<Service>(['get', '-n', ns, 'service', 'web']);
    const api = await kubectlJson<Service>(['get', '-n', ns, 'service', 'api']);
    expect(web.spec.clusterIP).toMatch(/^10\.0\.0\.\d{1,3}$/);
    expect(api.spec.clusterIP).toMatch(/^10\.0\.0\.\d{1,3}$/);
    expect(api.spec.clusterIP).not.toBe(web.spec.clusterIP);
    expect(web.spec.clusterIPs).toEqual([web.spec.clusterIP]);
    expect(web.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080 });

    // A requested address that is taken is refused.
    const taken = await kubectl(
      ['create', 'service', 'clusterip', 'dup', '--tcp=80:80', `--clusterip=${web.spec.clusterIP}`, '-n', ns],
      { allowFailure: true },
    );
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('already allocated');
  });
});
