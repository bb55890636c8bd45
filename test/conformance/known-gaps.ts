import type { RequirementSet } from './suite.js';

/**
 * Scenarios the fixture passes directly but not through the proxy, each with the reason (issue
 * 9). The conformance test fails when a scenario not listed here breaks through the proxy and
 * when a listed one starts passing, so this list is always exactly what is still missing.
 * Empty since the proxy negotiates the era with each backend (server/discover, a 2025-era twin
 * connection for servers that serve both eras) and passes input_required between modern peers.
 */
export const KNOWN_GAPS: ReadonlyArray<{ set: RequirementSet; scenario: string; reason: string }> = [];
