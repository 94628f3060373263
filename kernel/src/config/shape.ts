import type { z } from 'zod';

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  out?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  catchall?: z.ZodType;
};

function def(schema: z.ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

/** Strips default/prefault/optional/nullable/pipe wrappers to reach the schema that holds the shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const d = def(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.out) s = def(d.out).type === 'transform' && d.in ? d.in : d.out;
    else return s;
  }
  return s;
}

/** The keys an object schema accepts at `path` (walking objects and records), or undefined. */
export function keysAt(schema: z.ZodType, path: readonly string[]): string[] | undefined {
  let s = unwrap(schema);
  for (const key of path) {
    const d = def(s);
    if (d.type === 'object' && d.shape) {
      const next = d.shape[key];
      if (!next) return undefined;
      s = unwrap(next);
    } else if (d.type === 'record' && d.valueType) {
      s = unwrap(d.valueType);
    } else return undefined;
  }
  const d = def(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

/**
 * Top-level keys of `input` an object schema would silently strip (plain `z.object`), so typos in
 * plugin options are caught. Loose (`z.looseObject`) and strict schemas are left to themselves.
 */
export function strippedKeys(schema: z.ZodType, input: Record<string, unknown>): string[] {
  const d = def(unwrap(schema));
  if (d.type !== 'object' || !d.shape || d.catchall) return [];
  return Object.keys(input).filter((k) => !(k in d.shape!));
}
