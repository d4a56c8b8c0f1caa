import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { repoRoot } from '../common/paths';
import { clientSpecSchema } from '../client/client-spec';
import type { RunResults } from './types';

/** The JSON Schema of results.json, kept beside this file (and read from the repo, so build/ needs no copy). */
export const RESULTS_SCHEMA_FILE = join(repoRoot(), 'harness', 'results', 'results.schema.json');

let compiled: ValidateFunction | undefined;

/** The schema as validated: the file, with what a client boots made from the one table of its dimensions. */
export function resultsSchema(): { definitions: Record<string, object> } {
  const schema = JSON.parse(readFileSync(RESULTS_SCHEMA_FILE, 'utf8')) as { definitions: Record<string, object> };
  schema.definitions.clientSpec = clientSpecSchema();
  return schema;
}

function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(resultsSchema());
  return compiled;
}

/** The schema's complaints about `data` as "path: message" lines; empty when it is a valid results.json. */
export function resultsSchemaErrors(data: unknown): string[] {
  const validate = validator();
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params && 'allowedValues' in e.params ? ` (${String(e.params.allowedValues)})` : ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`);
}

/** True when `data` is a valid results.json (a type guard for readers). */
export function isRunResults(data: unknown): data is RunResults {
  return resultsSchemaErrors(data).length === 0;
}
