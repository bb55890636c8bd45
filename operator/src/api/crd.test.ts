import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartCrdsDir, crdsDir, kustomizeCrdsDir, renderCrds } from '../../../scripts/gen-crds.js';
import { mcpServerCrd } from './crd.js';

describe('generated CRD', () => {
  it('crds/, charts/multi-mcp/crds/ and config/crd/ match what npm run gen:crds generates from the schema', () => {
    for (const dir of [crdsDir, chartCrdsDir, kustomizeCrdsDir]) {
      for (const [file, content] of renderCrds()) {
        let committed = '';
        try {
          committed = readFileSync(join(dir, file), 'utf8');
        } catch {
          // Missing counts as stale.
        }
        expect(committed, `${dir}/${file} is stale: run npm run gen:crds and commit the result`).toBe(
          content,
        );
      }
    }
  });

  it('is structural: no additionalProperties: false, no $schema, every node typed', () => {
    const crd = mcpServerCrd();
    const schema = parse(JSON.stringify(crd)).spec.versions[0].schema.openAPIV3Schema as unknown;
    const untyped: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      expect(n['additionalProperties'], path).not.toBe(false);
      expect(n['$schema'], path).toBeUndefined();
      expect(n['anyOf'], `${path}: unions are not structural`).toBeUndefined();
      if (n['type'] === undefined) untyped.push(path);
      for (const [key, child] of Object.entries((n['properties'] as Record<string, unknown>) ?? {}))
        walk(child, `${path}.${key}`);
      if (n['items']) walk(n['items'], `${path}[]`);
      if (typeof n['additionalProperties'] === 'object') walk(n['additionalProperties'], `${path}{}`);
    };
    walk(schema, '');
    expect(untyped).toEqual([]);
  });

  it('shows transport, prefix, ready, tools, synced and age in kubectl get', () => {
    const version = (
      mcpServerCrd()['spec'] as { versions: { additionalPrinterColumns: { name: string }[] }[] }
    ).versions[0];
    expect(version?.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Transport',
      'Prefix',
      'Ready',
      'Tools',
      'Synced',
      'Age',
    ]);
  });
});
