import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { BackendLists } from '../registry/backend.js';
import { buildCatalog, routeResource } from './catalog.js';
import { defaultNaming } from './names.js';
import { selectView, viewIncludesBackend } from './view.js';

const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object' } });
const source = (backend: string, partial: Partial<BackendLists>) => ({
  backend,
  prefix: backend,
  includeTool: () => true,
  lists: { tools: [], prompts: [], resources: [], resourceTemplates: [], ...partial },
});

const catalog = buildCatalog(
  [
    source('weather', {
      tools: [tool('forecast'), tool('alerts')],
      prompts: [{ name: 'trip' }],
      resources: [{ uri: 'weather://cities', name: 'cities' }],
      resourceTemplates: [{ uriTemplate: 'weather://city/{name}', name: 'city' }],
    }),
    source('calc', {
      tools: [tool('add'), tool('forecast')],
      prompts: [{ name: 'explain' }],
      resources: [{ uri: 'calc://constants', name: 'constants' }],
    }),
  ],
  defaultNaming,
);

describe('selectView', () => {
  it('keeps the named backends’ tools, prompts, resources and templates, and routes only to them', () => {
    const view = selectView(catalog, { backends: ['weather'] });
    expect(view.tools.map((t) => t.name)).toEqual(['weather__forecast', 'weather__alerts']);
    expect(view.prompts.map((p) => p.name)).toEqual(['weather__trip']);
    expect(view.resources.map((r) => r.uri)).toEqual(['weather://cities']);
    expect(view.resourceTemplates.map((t) => t.uriTemplate)).toEqual(['weather://city/{name}']);
    expect(view.toolRoutes.has('calc__add')).toBe(false);
    expect(view.promptRoutes.has('calc__explain')).toBe(false);
    expect(routeResource(view, 'calc://constants')).toBeUndefined();
    expect(routeResource(view, 'weather://city/paris')).toBe('weather');
  });

  it('applies tool globs to exposed names, across backends, include then exclude', () => {
    const view = selectView(catalog, {
      tools: { include: ['*__forecast', 'calc__*'], exclude: ['calc__add'] },
    });
    expect(view.tools.map((t) => t.name)).toEqual(['weather__forecast', 'calc__forecast']);
    expect([...view.toolRoutes.keys()]).toEqual(['weather__forecast', 'calc__forecast']);
    // Globs select tools only: prompts and resources follow the backends (all, by default).
    expect(view.prompts).toHaveLength(2);
  });

  it('changes its digests only when what it shows changes', () => {
    const a = selectView(catalog, { backends: ['weather'] });
    const grown = buildCatalog(
      [
        source('weather', {
          tools: [tool('forecast'), tool('alerts')],
          prompts: [{ name: 'trip' }],
          resources: [{ uri: 'weather://cities', name: 'cities' }],
          resourceTemplates: [{ uriTemplate: 'weather://city/{name}', name: 'city' }],
        }),
        source('calc', { tools: [tool('add'), tool('forecast'), tool('divide')] }),
      ],
      defaultNaming,
    );
    const b = selectView(grown, { backends: ['weather'] });
    expect(grown.digests.tools).not.toBe(catalog.digests.tools);
    expect(b.digests).toEqual(a.digests);
  });

  it('lets pushes of a backend reach a view only when it selects that backend', () => {
    expect(viewIncludesBackend({}, 'calc')).toBe(true);
    expect(viewIncludesBackend({ backends: ['weather'] }, 'calc')).toBe(false);
    expect(viewIncludesBackend(undefined, 'weather')).toBe(false);
  });
});
