import type { Tool } from '@modelcontextprotocol/server';
import type { ToolOverride } from '../config/contract.js';

/**
 * The tool as clients see it before prefixing: an override replaces its name and/or description.
 * Filters, pins and the route still use the original name (the one the backend knows).
 */
export function overridden(tool: Tool, override: ToolOverride | undefined): Tool {
  if (override === undefined) return tool;
  return {
    ...tool,
    ...(override.name !== undefined && { name: override.name }),
    ...(override.description !== undefined && { description: override.description }),
  };
}

/** Override keys that name no tool the backend lists: most often a typo, worth one log line. */
export function unusedOverrides(
  tools: readonly Tool[],
  overrides: Record<string, ToolOverride> | undefined,
): string[] {
  if (overrides === undefined) return [];
  const listed = new Set(tools.map((tool) => tool.name));
  return Object.keys(overrides).filter((name) => !listed.has(name));
}
