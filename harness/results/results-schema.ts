import { join } from 'node:path';
import { repoRoot } from '../common/paths';
import { schemaCheck } from '../common/json-schema';
import { clientSpecSchema } from '../client/client-spec';
import type { RunResults } from './types';

/** The JSON Schema of results.json, kept beside this file (and read from the repo, so build/ needs no copy). */
export const RESULTS_SCHEMA_FILE = join(repoRoot(), 'harness', 'results', 'results.schema.json');

/** The schema, with what a client boots made from the one table of its dimensions. */
const RESULTS = schemaCheck('harness/results/results.schema.json', (s) => {
  s.definitions = { ...s.definitions, clientSpec: clientSpecSchema() };
});

/** The schema as validated. */
export function resultsSchema(): { definitions: Record<string, object> } {
  return RESULTS.schema() as { definitions: Record<string, object> };
}

/** The schema's complaints about `data` as "path: message" lines; empty when it is a valid results.json. */
export function resultsSchemaErrors(data: unknown): string[] {
  return RESULTS.errors(data);
}

/** True when `data` is a valid results.json (a type guard for readers). */
export function isRunResults(data: unknown): data is RunResults {
  return resultsSchemaErrors(data).length === 0;
}
