import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { ToolEntry } from '../catalog/catalog.js';
import { errorMessage } from '../log.js';
import { BackendUnavailableError } from '../registry/errors.js';
import { BackendRpcError, WireClosedError, WireTimeoutError } from '../registry/wire.js';

/**
 * The one mapping from what went wrong to what a client receives. A backend's own JSON-RPC
 * error passes through with its code, message and data; a backend that is down, timed out
 * or dropped the connection becomes an internal error whose message names the backend.
 */
export function toClientError(error: unknown, backend: string, method: string): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof BackendRpcError) return new ProtocolError(error.code, error.message, error.data);
  if (error instanceof WireTimeoutError) {
    return new ProtocolError(
      ProtocolErrorCode.InternalError,
      `backend "${backend}" did not answer ${method} in time`,
      { backend },
    );
  }
  if (error instanceof WireClosedError) {
    return new ProtocolError(
      ProtocolErrorCode.InternalError,
      `backend "${backend}" closed the connection during ${method}`,
      { backend },
    );
  }
  if (error instanceof BackendUnavailableError) {
    return new ProtocolError(ProtocolErrorCode.InternalError, error.message, { backend });
  }
  return new ProtocolError(
    ProtocolErrorCode.InternalError,
    `backend "${backend}" failed ${method}: ${errorMessage(error)}`,
    { backend },
  );
}

export function unknownName(kind: 'tool' | 'prompt' | 'resource', name: string): ProtocolError {
  return new ProtocolError(
    kind === 'resource' ? ProtocolErrorCode.ResourceNotFound : ProtocolErrorCode.InvalidParams,
    `Unknown ${kind}: "${name}"`,
    { [kind === 'resource' ? 'uri' : 'name']: name },
  );
}

/**
 * A call to a tool the catalog withholds (catalog.ts `ToolEntry`): says why, and how an
 * operator approves it, since the client's user is often the one who asks.
 */
export function withheldTool(entry: ToolEntry): ProtocolError {
  const approve =
    `approve it with POST /mcp_servers/${entry.backend}/pins {"approveCurrent": ["${entry.original}"]} on the admin API, ` +
    `or by setting tools.pins."${entry.original}" to "${entry.hash}" in the backend's definition (spec.tools.pins for an McpServer)`;
  const why =
    entry.state === 'drifted'
      ? `its definition changed since it was pinned (pin ${entry.pin ?? '?'}, now ${entry.hash}), so it is quarantined`
      : 'it has no pin and the proxy runs with --pin-policy strict';
  return new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `tool "${entry.exposed ?? entry.original}" of backend "${entry.backend}" is withheld: ${why}; ${approve}`,
    {
      name: entry.exposed,
      backend: entry.backend,
      tool: entry.original,
      reason: entry.state,
      hash: entry.hash,
      pin: entry.pin,
    },
  );
}
