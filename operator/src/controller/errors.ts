import { ApiException } from '@kubernetes/client-node';

/** One line a person can act on: `HTTP 403: mcpservers is forbidden: …`, not client-node's dump with headers. */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    return `HTTP ${error.code}: ${bodyMessage(error.body)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function bodyMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message);
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      return parsed.message ?? body.slice(0, 300);
    } catch {
      return body.slice(0, 300);
    }
  }
  return String(body);
}
