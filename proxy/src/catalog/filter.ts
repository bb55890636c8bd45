import picomatch from 'picomatch';

export interface ToolFilterSpec {
  include?: string[] | undefined;
  exclude?: string[] | undefined;
}

/** Glob filters on a backend's original tool names: include (if given) then exclude. */
export function toolFilter(spec: ToolFilterSpec | undefined): (name: string) => boolean {
  const include = spec?.include?.length ? picomatch(spec.include) : undefined;
  const exclude = spec?.exclude?.length ? picomatch(spec.exclude) : undefined;
  return (name) => (include ? include(name) : true) && !(exclude?.(name) ?? false);
}
