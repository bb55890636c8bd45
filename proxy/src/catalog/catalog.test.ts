import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { BackendLists } from '../registry/backend.js';
import type { CatalogSource } from './catalog.js';
import { buildCatalog, createCatalogBuilder, routeResource } from './catalog.js';
import { definitionHash } from './definition.js';
import { toolFilter } from './filter.js';
import { defaultNaming, exposedName, shorten } from './names.js';
import { catalogListBytes, listJson } from './serialized.js';

const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object' } });
const lists = (partial: Partial<BackendLists>): BackendLists => ({
  tools: [],
  prompts: [],
  resources: [],
  resourceTemplates: [],
  ...partial,
});
const source = (backend: string, partial: Partial<BackendLists>, prefix = backend) => ({
  backend,
  prefix,
  includeTool: () => true,
  lists: lists(partial),
});

describe('exposed names', () => {
  it('joins prefix and name with the separator, or keeps the name when the prefix is empty', () => {
    expect(exposedName('weather', 'get_forecast', defaultNaming)).toBe('weather__get_forecast');
    expect(exposedName('', 'get_forecast', defaultNaming)).toBe('get_forecast');
    expect(exposedName('calc', 'add', { separator: '::', maxLength: 64 })).toBe('calc::add');
  });

  it('shortens long names to the limit, stably, keeping two similar long names apart', () => {
    const a = 'a'.repeat(40) + '__' + 'x'.repeat(40);
    const b = 'a'.repeat(40) + '__' + 'x'.repeat(39) + 'y';
    expect(shorten(a, 64)).toHaveLength(64);
    expect(shorten(a, 64)).toBe(shorten(a, 64));
    expect(shorten(a, 64)).not.toBe(shorten(b, 64));
    expect(shorten(a, 64)).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(shorten('short', 64)).toBe('short');
  });

  it('shortens to fixed values: truncated name, "_", 8 hex of the full name’s SHA-256', () => {
    // Pinned: a change here renames tools on every replica and in every client's saved config.
    expect(exposedName('weather_service_backend', 'whoami', { separator: '::', maxLength: 20 })).toBe(
      'weather_ser_c814e1fc',
    );
    expect(
      exposedName(
        'a_backend_with_a_rather_long_name_for_its_prefix',
        'get_forecast_for_the_next_days',
        defaultNaming,
      ),
    ).toBe('a_backend_with_a_rather_long_name_for_its_prefix__get_f_e0fc1c5f');
  });
});

describe('buildCatalog', () => {
  it('keeps the earlier backend on a collision and reports it', () => {
    const catalog = buildCatalog(
      [source('one', { tools: [tool('echo')] }, ''), source('two', { tools: [tool('echo')] }, '')],
      defaultNaming,
    );
    expect(catalog.tools.map((t) => t.name)).toEqual(['echo']);
    expect(catalog.toolRoutes.get('echo')).toEqual({ backend: 'one', name: 'echo' });
    expect(catalog.collisions).toEqual([
      { kind: 'tool', exposed: 'echo', keptBy: 'one', droppedFrom: 'two' },
    ]);
  });

  it('routes a tool whose name contains the separator by the table, not by splitting', () => {
    const catalog = buildCatalog([source('a__b', { tools: [tool('c__d')] })], defaultNaming);
    expect(catalog.toolRoutes.get('a__b__c__d')).toEqual({ backend: 'a__b', name: 'c__d' });
  });

  it('does not rewrite resource URIs and routes templates by match', () => {
    const catalog = buildCatalog(
      [
        source('calc', { resources: [{ uri: 'calculator://constants', name: 'constants' }] }),
        source('units', { resourceTemplates: [{ uriTemplate: 'units://{category}', name: 'units' }] }),
      ],
      defaultNaming,
    );
    expect(catalog.resources[0]?.uri).toBe('calculator://constants');
    expect(routeResource(catalog, 'calculator://constants')).toBe('calc');
    expect(routeResource(catalog, 'units://length')).toBe('units');
    expect(routeResource(catalog, 'other://x')).toBeUndefined();
  });

  it('changes the tools digest only when what clients see changes', () => {
    const a = buildCatalog([source('s', { tools: [tool('x')] })], defaultNaming);
    const b = buildCatalog([source('s', { tools: [tool('x')] })], defaultNaming);
    const c = buildCatalog([source('s', { tools: [tool('y')] })], defaultNaming);
    expect(a.digests.tools).toBe(b.digests.tools);
    expect(a.digests.tools).not.toBe(c.digests.tools);
    expect(a.digests.prompts).toBe(c.digests.prompts);
  });
});

describe('buildCatalog: overrides and pins', () => {
  const overridden = (include: (name: string) => boolean = () => true) => ({
    ...source('s', { tools: [tool('search'), tool('fetch')] }),
    includeTool: include,
    overrides: { search: { name: 'web_search', description: 'Search the web' } },
  });

  it('renames before prefixing and routes the new exposed name to the original tool', () => {
    const catalog = buildCatalog([overridden()], defaultNaming);
    expect(catalog.tools.map((t) => [t.name, t.description])).toEqual([
      ['s__web_search', 'Search the web'],
      ['s__fetch', undefined],
    ]);
    expect(catalog.toolRoutes.get('s__web_search')).toEqual({ backend: 's', name: 'search' });
    expect(catalog.toolRoutes.has('s__search')).toBe(false);
  });

  it('filters on original names, not overridden ones', () => {
    const catalog = buildCatalog([overridden((name) => name !== 'search')], defaultNaming);
    expect(catalog.tools.map((t) => t.name)).toEqual(['s__fetch']);
    expect(catalog.toolEntries.find((e) => e.original === 'search')?.state).toBe('filtered');
  });

  it('detects a collision on an overridden name', () => {
    const catalog = buildCatalog(
      [{ ...source('s', { tools: [tool('a'), tool('b')] }), overrides: { b: { name: 'a' } } }],
      defaultNaming,
    );
    expect(catalog.collisions).toEqual([{ kind: 'tool', exposed: 's__a', keptBy: 's', droppedFrom: 's' }]);
    expect(catalog.toolRoutes.get('s__a')).toEqual({ backend: 's', name: 'a' });
  });

  it('withholds drifted and held tools, and a withheld tool keeps its name from later backends', () => {
    const lookup = tool('lookup');
    const verdicts = {
      lookup: { state: 'drifted', pin: `sha256:${'0'.repeat(64)}`, source: 'spec' },
      other: { state: 'held' },
    } as const;
    const catalog = buildCatalog(
      [
        {
          ...source('a', { tools: [lookup, tool('other'), tool('fine')] }, ''),
          pinVerdict: (name) => verdicts[name as keyof typeof verdicts] ?? { state: 'none' },
        },
        source('b', { tools: [tool('lookup')] }, ''),
      ],
      defaultNaming,
    );
    expect(catalog.tools.map((t) => t.name)).toEqual(['fine']);
    expect(catalog.withheld.get('lookup')).toMatchObject({
      backend: 'a',
      state: 'drifted',
      hash: definitionHash(lookup),
      pin: `sha256:${'0'.repeat(64)}`,
      pinSource: 'spec',
    });
    expect(catalog.withheld.get('other')?.state).toBe('held');
    expect(catalog.toolRoutes.has('lookup')).toBe(false);
    expect(catalog.collisions).toEqual([{ kind: 'tool', exposed: 'lookup', keptBy: 'a', droppedFrom: 'b' }]);
  });
});

describe('createCatalogBuilder: one backend changed, only its part is recomputed', () => {
  const stampA = [{}];
  const a: CatalogSource = { ...source('a', { tools: [tool('x'), tool('y')] }), stamp: stampA };
  const b: CatalogSource = { ...source('b', { tools: [tool('x')] }), stamp: [{}] };

  it('reuses an unchanged backend’s listed tools, and recomputes a backend whose list changed', () => {
    const build = createCatalogBuilder(defaultNaming);
    const first = build([a, b]);
    const changed = { ...b, lists: lists({ tools: [tool('x'), tool('z')] }) };
    const second = build([a, changed]);
    expect(second.tools.map((t) => t.name)).toEqual(['a__x', 'a__y', 'b__x', 'b__z']);
    // The same objects: their serialisations (serialized.ts) are reused too.
    expect(second.tools[0]).toBe(first.tools[0]);
    expect(second.tools[1]).toBe(first.tools[1]);
    expect(second.tools[2]).not.toBe(first.tools[2]);
    expect(second.digests.tools).not.toBe(first.digests.tools);
    expect(second.digests.tools).toBe(buildCatalog([a, changed], defaultNaming).digests.tools);
  });

  it('recomputes a backend whose stamp changed (new pin records, new tool settings)', () => {
    const build = createCatalogBuilder(defaultNaming);
    build([a, b]);
    const held: CatalogSource = { ...a, pinVerdict: () => ({ state: 'held' }), stamp: [stampA[0], 1] };
    const second = build([held, b]);
    expect(second.tools.map((t) => t.name)).toEqual(['b__x']);
    expect([...second.withheld.keys()]).toEqual(['a__x', 'a__y']);
    // Without a stamp nothing is reused: the stages run again on every build.
    const unstamped: CatalogSource = { ...a, stamp: undefined, includeTool: (name) => name === 'x' };
    expect(build([unstamped, b]).tools.map((t) => t.name)).toEqual(['a__x', 'b__x']);
  });

  it('keeps collisions in registration order whatever was reused', () => {
    const build = createCatalogBuilder(defaultNaming);
    const first = { ...source('a', { tools: [tool('t')] }, ''), stamp: [] };
    const second = { ...source('b', { tools: [tool('t')] }, ''), stamp: [] };
    build([first, second]);
    const swapped = build([second, first]);
    expect(swapped.toolRoutes.get('t')).toEqual({ backend: 'b', name: 't' });
    expect(swapped.collisions).toEqual([{ kind: 'tool', exposed: 't', keptBy: 'b', droppedFrom: 'a' }]);
  });

  it('serialises a list as JSON.stringify does', () => {
    const catalog = buildCatalog([a, b], defaultNaming);
    expect(listJson(catalog.tools)).toBe(JSON.stringify(catalog.tools));
    expect(listJson([])).toBe('[]');
    expect(catalogListBytes(catalog, 'tools').toString()).toBe(JSON.stringify(catalog.tools));
    expect(catalogListBytes(catalog, 'prompts').toString()).toBe('[]');
  });
});

describe('toolFilter', () => {
  it('applies include globs, then exclude globs', () => {
    const keep = toolFilter({ include: ['get_*', 'add'], exclude: ['get_secret*'] });
    expect(['get_forecast', 'add', 'get_secret_key', 'delete'].filter(keep)).toEqual(['get_forecast', 'add']);
    expect(toolFilter(undefined)('anything')).toBe(true);
  });
});
