import { createHash } from 'node:crypto';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { McpServer } from '../api/index.js';
import { API_VERSION, KIND } from '../api/index.js';

// `spec.deployment`: an HTTP MCP server the operator runs as a Deployment + Service (applied
// server-side, owned by the McpServer) and registers with the proxies by its Service URL.

const MANAGED_BY = 'multi-mcp-operator';
export const MCPSERVER_LABEL = 'multi-mcp.io/mcpserver';
/** Pod-template annotation: a hash of the referenced env values, so a rotation rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'multi-mcp.io/config-hash';

/** `mcp-<name>`, a DNS-1035 label of at most 63 characters (long names are cut and hashed). */
export function workloadName(server: McpServer): string {
  return workloadNameOf(server.metadata.name);
}

/** workloadName for an McpServer known only by name (one whose spec no longer parses, say). */
export function workloadNameOf(mcpServerName: string): string {
  const plain = `mcp-${mcpServerName.replaceAll('.', '-')}`;
  if (plain.length <= 63) return plain;
  const hash = createHash('sha256').update(mcpServerName).digest('hex').slice(0, 8);
  return `${plain.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** Where the proxies reach the server: its Service's cluster DNS name. */
export function serviceUrlFor(server: McpServer): string {
  const d = server.spec.deployment;
  if (!d) throw new Error('not a deployment-mode McpServer');
  return `http://${workloadName(server)}.${server.metadata.namespace}.svc:${d.port}${d.path}`;
}

function ownerReference(server: McpServer) {
  if (!server.metadata.uid) throw new Error(`McpServer ${server.metadata.name} has no uid yet`);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: server.metadata.name,
    uid: server.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function labels(server: McpServer): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'mcp-server',
    'app.kubernetes.io/instance': workloadName(server),
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [MCPSERVER_LABEL]: server.metadata.name,
  };
}

/**
 * The Deployment and Service of a deployment-mode McpServer, as server-side apply bodies.
 * `configHash` (referencedEnvHash) goes into the pod template, so a new one rolls the pods.
 */
export function workloadFor(
  server: McpServer,
  configHash?: string,
): { deployment: V1Deployment; service: V1Service } {
  const d = server.spec.deployment;
  if (!d) throw new Error('not a deployment-mode McpServer');
  const name = workloadName(server);
  const namespace = server.metadata.namespace;
  const meta = { name, namespace, labels: labels(server), ownerReferences: [ownerReference(server)] };
  const selector = { [MCPSERVER_LABEL]: server.metadata.name, 'app.kubernetes.io/instance': name };
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...labels(server), ...selector },
            ...(configHash !== undefined && { annotations: { [CONFIG_HASH_ANNOTATION]: configHash } }),
          },
          spec: {
            containers: [
              {
                name: 'server',
                image: d.image,
                ...(d.args && { args: d.args }),
                // Secret and ConfigMap references stay references: the kubelet resolves them.
                ...(d.env && { env: d.env }),
                ports: [{ name: 'mcp', containerPort: d.port, protocol: 'TCP' }],
                ...(d.resources && { resources: d.resources }),
              },
            ],
          },
        },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: {
        selector,
        ports: [{ name: 'mcp', port: d.port, targetPort: 'mcp', protocol: 'TCP' }],
      },
    },
  };
}

/** Whether the Deployment serves: all desired replicas available, for the spec it was last given. */
export function deploymentAvailability(deployment: V1Deployment | undefined): {
  ready: boolean;
  message: string;
} {
  if (!deployment) return { ready: false, message: 'the Deployment does not exist yet' };
  const want = deployment.spec?.replicas ?? 1;
  const available = deployment.status?.availableReplicas ?? 0;
  const current = (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const message = `Deployment ${deployment.metadata?.name}: ${available}/${want} replicas available`;
  return { ready: current && available >= want && want > 0, message };
}
