import { describe, expect, it } from 'vitest';
import { freshNamespace, kubectl, kubectlJson } from '../harness/k8s.js';

interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  fieldsV1?: { 'f:data'?: Record<string, unknown> };
}
interface ConfigMap {
  metadata: { managedFields?: ManagedFieldsEntry[] };
  data?: Record<string, string>;
}

function configMap(ns: string, data: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'shared', namespace: ns },
    data,
  });
}

function ownedDataKeys(cm: ConfigMap, manager: string): string[] {
  const entry = cm.metadata.managedFields?.find((m) => m.manager === manager && m.operation === 'Apply');
  return Object.keys(entry?.fieldsV1?.['f:data'] ?? {})
    .filter((k) => k !== '.')
    .sort();
}

describe('server-side apply', () => {
  it('tracks field ownership per manager and reports conflicts', async () => {
    const ns = await freshNamespace('ssa');
    const apply = (manager: string, data: Record<string, string>, ...extra: string[]) =>
      kubectl(['apply', '--server-side', `--field-manager=${manager}`, '-f', '-', ...extra], {
        input: configMap(ns, data),
        allowFailure: true,
      });

    expect((await apply('alice', { a: '1', b: '1' })).code).toBe(0);
    expect((await apply('bob', { c: '1' })).code).toBe(0);

    let cm = await kubectlJson<ConfigMap>(['get', '-n', ns, 'configmap', 'shared', '--show-managed-fields']);
    expect(cm.data).toEqual({ a: '1', b: '1', c: '1' });
    expect(ownedDataKeys(cm, 'alice')).toEqual(['f:a', 'f:b']);
    expect(ownedDataKeys(cm, 'bob')).toEqual(['f:c']);

    // bob changing alice's field is a conflict that names the owner and the field.
    const conflict = await apply('bob', { a: '2', c: '1' });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/conflict/i);
    expect(conflict.stderr).toContain('"alice"');
    expect(conflict.stderr).toContain('.data.a');

    // With --force-conflicts bob takes the field over.
    expect((await apply('bob', { a: '2', c: '1' }, '--force-conflicts')).code).toBe(0);
    cm = await kubectlJson<ConfigMap>(['get', '-n', ns, 'configmap', 'shared', '--show-managed-fields']);
    expect(cm.data).toEqual({ a: '2', b: '1', c: '1' });
    expect(ownedDataKeys(cm, 'alice')).toEqual(['f:b']);
    expect(ownedDataKeys(cm, 'bob')).toEqual(['f:a', 'f:c']);

    // alice dropping a field she alone owns removes it.
    expect((await apply('alice', {})).code).toBe(0);
    cm = await kubectlJson<ConfigMap>(['get', '-n', ns, 'configmap', 'shared', '--show-managed-fields']);
    expect(cm.data).toEqual({ a: '2', c: '1' });
  });
});
