import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { repoRoot } from './paths';

/**
 * The JSON Schemas of the files the lab writes and reads (results.json, baselines, the
 * test durations record, run.json), each kept beside the code that owns the file and read
 * from the repo, so build/ needs no copy. One ajv setup and one way of saying what is wrong.
 */
export interface SchemaCheck {
  /** The schema's complaints about `data` as "path: message" lines; empty when it is valid. */
  errors(data: unknown): string[];
  /** The schema as validated. */
  schema(): object;
}

/** `file`: repo-relative path of the schema; `amend` fills in what is made from code (e.g. definitions.clientSpec). */
export function schemaCheck(file: string, amend: (schema: { definitions?: Record<string, object> }) => void = () => undefined): SchemaCheck {
  let compiled: ValidateFunction | undefined;
  const schema = (): object => {
    const s = JSON.parse(readFileSync(join(repoRoot(), file), 'utf8')) as { definitions?: Record<string, object> };
    amend(s);
    return s;
  };
  return {
    schema,
    errors(data: unknown): string[] {
      compiled ??= new Ajv({ allErrors: true, strict: true }).compile(schema());
      if (compiled(data)) return [];
      return (compiled.errors ?? []).map(schemaErrorLine);
    },
  };
}

function schemaErrorLine(e: ErrorObject): string {
  const allowed = e.params && 'allowedValues' in e.params ? ` (${String(e.params.allowedValues)})` : '';
  const extra = e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : '';
  return `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${allowed}${extra}`;
}
