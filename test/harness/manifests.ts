/**
 * Rendered manifests (helm template, kubectl kustomize) as objects, for tests that check what a
 * chart or an overlay would create.
 */
import { parseAllDocuments } from 'yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as unknown)
    .filter((obj): obj is Manifest => typeof obj === 'object' && obj !== null && 'kind' in obj);
}

/** The one object of `kind` whose name satisfies `name` (a string or a suffix test). */
export function findManifest(objects: Manifest[], kind: string, name: string | RegExp): Manifest {
  const matches = objects.filter(
    (o) =>
      o.kind === kind && (typeof name === 'string' ? o.metadata.name === name : name.test(o.metadata.name)),
  );
  if (matches.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind} named ${String(name)}, found ${matches.length} among: ${have}`);
  }
  return matches[0] as Manifest;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  volumes?: Record<string, unknown>[];
  terminationGracePeriodSeconds?: number;
}

export function podSpec(deployment: Manifest): PodSpec {
  return (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

/** The rules of an RBAC Role/ClusterRole, in a canonical order so two sets compare equal. */
export function canonicalRules(role: Manifest): string[] {
  const rules = (role as unknown as { rules: Record<string, string[]>[] }).rules;
  return rules
    .map((r) =>
      JSON.stringify({
        apiGroups: [...(r['apiGroups'] ?? [])].sort(),
        resources: [...(r['resources'] ?? [])].sort(),
        verbs: [...(r['verbs'] ?? [])].sort(),
      }),
    )
    .sort();
}
