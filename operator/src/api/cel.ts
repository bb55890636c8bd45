import type { z } from 'zod';

/** One CEL rule of a CRD schema node (`x-kubernetes-validations`). */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export const CEL_KEY = 'x-kubernetes-validations';

/**
 * A rule that the API server checks (CEL, in the generated CRD) and that the operator checks again
 * on what it reads (the same predicate in TypeScript), so an object stored before the CRD was
 * updated gets the same message as a rejected apply.
 */
export interface Invariant<T> extends CelRule {
  holds: (value: T) => boolean;
  /** Path of the issue within the checked object, like `fieldPath` without the leading dot. */
  path?: string[];
}

/** Adds `invariants` to an object schema: as refinements for zod and as CEL rules for the CRD. */
export function withInvariants<S extends z.ZodType>(schema: S, invariants: Invariant<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const inv of invariants) {
      if (!inv.holds(value)) ctx.addIssue({ code: 'custom', message: inv.message, path: inv.path ?? [] });
    }
  }) as unknown as S;
  const existing = (schema.meta()?.[CEL_KEY] as CelRule[] | undefined) ?? [];
  const rules: CelRule[] = invariants.map(({ holds: _holds, path: _path, ...rule }) => rule);
  return refined.meta({ ...schema.meta(), [CEL_KEY]: [...existing, ...rules] }) as S;
}

/** Which of `keys` are set on `value`, for exactly-one and only-with rules. */
export function present(value: object, keys: readonly string[]): string[] {
  return keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined);
}

/** CEL: exactly one of `keys` is set. */
export function celExactlyOne(keys: readonly string[]): string {
  return `[${keys.map((k) => `has(self.${k})`).join(', ')}].filter(x, x).size() == 1`;
}
