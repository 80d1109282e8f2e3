// The profanity filter: obscenity's English dataset, matched on whole patterns
// after its confusable, leet-speak and duplicate-collapsing transforms, with a
// whitelist, so "Scunthorpe", "assessment" and "classic" pass (the original
// project's substring regex refused them).
import {
  RegExpMatcher,
  TextCensor,
  asteriskCensorStrategy,
  englishDataset,
  englishRecommendedTransformers,
} from 'obscenity';
import { BadRequest } from './errors.js';

/** off: store as typed; mask: replace the matched words with asterisks; reject: refuse the message. */
export type ProfanityPolicy = 'off' | 'mask' | 'reject';
export const PROFANITY_POLICIES = ['off', 'mask', 'reject'] as const;

// Ordinary words the dataset would otherwise catch.
const EXTRA_WHITELIST = ['cockpit', 'cockpits', 'penistone', 'pussycat', 'pussycats', 'pussy willow'];

let matcher: RegExpMatcher | undefined;
function getMatcher(): RegExpMatcher {
  if (!matcher) {
    const dataset = englishDataset.build();
    matcher = new RegExpMatcher({
      ...dataset,
      whitelistedTerms: [...(dataset.whitelistedTerms ?? []), ...EXTRA_WHITELIST],
      ...englishRecommendedTransformers,
    });
  }
  return matcher;
}

const censor = new TextCensor().setStrategy(asteriskCensorStrategy());

export function containsProfanity(text: string): boolean {
  return getMatcher().hasMatch(text);
}

/** The text to store under the policy; throws BadRequest when the policy rejects it. */
export function applyProfanityPolicy(text: string, policy: ProfanityPolicy): string {
  if (policy === 'off') return text;
  const matches = getMatcher().getAllMatches(text, true);
  if (matches.length === 0) return text;
  if (policy === 'reject') throw new BadRequest('That message contains words this server does not allow.');
  return censor.applyTo(text, matches);
}
