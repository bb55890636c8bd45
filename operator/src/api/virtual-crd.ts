import { condition, customResourceDefinition } from './crd.js';
import {
  McpVirtualServerSpecSchema,
  McpVirtualServerStatusSchema,
  VIRTUAL_KIND,
  VIRTUAL_PLURAL,
  VIRTUAL_SHORT_NAMES,
  VIRTUAL_SINGULAR,
} from './mcpvirtualserver.js';

/** The CustomResourceDefinition for McpVirtualServer (written by `npm run gen:crds`). */
export function mcpVirtualServerCrd(): Record<string, unknown> {
  return customResourceDefinition(
    {
      kind: VIRTUAL_KIND,
      plural: VIRTUAL_PLURAL,
      singular: VIRTUAL_SINGULAR,
      shortNames: VIRTUAL_SHORT_NAMES,
    },
    {
      description:
        'A named selection of the catalog, served by every multi-mcp proxy replica at its own endpoint.',
      spec: McpVirtualServerSpecSchema,
      status: McpVirtualServerStatusSchema,
      requireSpec: false,
      columns: [
        { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint' },
        { name: 'Ready', type: 'string', jsonPath: `${condition('Ready')}.status` },
        { name: 'Synced', type: 'string', jsonPath: '.status.synced' },
      ],
    },
  );
}
