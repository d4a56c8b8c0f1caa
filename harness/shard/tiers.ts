import { UsageError } from '../common/errors';

/**
 * The suite's tiers. Each end-to-end test belongs to one, by a tag in its full title (its
 * own title or a describe's, as mocha's --grep sees it): `@smoke` for the few boots that
 * cover the chain, two clients, stateless, read-only, one fault, the report page and bad
 * input; `@full` for the rest. `./lab test --tier smoke` runs the smoke tests; the full
 * tier (the default) runs every test, the smoke tests among them.
 */
export const TIERS = ['smoke', 'full'] as const;
export type Tier = (typeof TIERS)[number];
export const DEFAULT_TIER: Tier = 'full';

/** A tier's tag in a title. */
export function tierTag(tier: Tier): string {
  return `@${tier}`;
}

const TAG = new RegExp(`(?:^|\\s)@(${TIERS.join('|')})(?=\\s|$)`, 'g');

/** `--tier NAME`, checked. */
export function parseTier(raw: string): Tier {
  const t = TIERS.find((x) => x === raw);
  if (!t) throw new UsageError(`--tier '${raw}' is not a tier`, { hint: `the tiers: ${TIERS.join(', ')} (default ${DEFAULT_TIER})` });
  return t;
}

/**
 * The tier a test declares in its full title, or why it has none: no tag, or two. A
 * string is the complaint.
 */
export function tierOfTitle(fullTitle: string): Tier | string {
  const tags = [...fullTitle.matchAll(TAG)].map((m) => m[1] as Tier);
  if (tags.length === 1) return tags[0] as Tier;
  return tags.length === 0 ? `declares no tier (${TIERS.map(tierTag).join(' or ')} in its title or a describe's)` : `declares ${tags.length} tiers (${tags.map(tierTag).join(', ')}): one only`;
}

/**
 * The mocha --grep for a tier's end-to-end run, with the user's --grep (a RegExp source,
 * or /RE/FLAGS) kept: both must match. The full tier adds nothing.
 */
export function tierGrep(tier: Tier, grep?: string): string | undefined {
  if (tier === 'full') return grep;
  const tag = `(?:^|\\s)${tierTag(tier)}(?=\\s|$)`;
  if (grep === undefined) return tag;
  const m = /^\/(.*)\/([gimy]{0,4})$/.exec(grep);
  const [source, flags] = m ? [m[1] as string, m[2] as string] : [grep, ''];
  // Lookaheads from the title's start: the tag anywhere, and the user's pattern where it
  // would match alone (its own ^ still means the start).
  const both = `^(?=[\\s\\S]*${tag})(?=[\\s\\S]*?(?:${source}))`;
  return flags ? `/${both}/${flags}` : both;
}
