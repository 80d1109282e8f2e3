// Reserved usernames: look-alike digits, separators, doubled letters and
// affixes do not get around them; ordinary names still work.
import { describe, expect, it } from 'vitest';
import { usernameProblem } from '../../functions/core/names.js';

// Every one of these was accepted by a sign-up in an outside test.
const DISGUISED =
  'adm1n 4dmin r00t ro0t m0derator supp0rt 5ystem w1ldwhispers wildwhisper sysadmin admins adminn aadmin the_admin admin-team admin.official owner server hostmaster operator'.split(
    ' ',
  );
// And the forms refused before.
const PLAIN = 'admin a.d.m.i.n admin_1 root system moderator support help1 everyone here channel wildwhispers'.split(' ');
// Ordinary names that share letters with reserved words. Short words (root,
// staff, mod) match only whole, and no word matches inside a name.
const ORDINARY = 'simon modesto rootbeer stafford badminton alice ali lilian mallory ecosystem hereford allison serverless_fan owner_of_cats'.split(' ');

describe('reserved usernames', () => {
  it.each([...DISGUISED, ...PLAIN])('refuses %s', (name) => {
    expect(usernameProblem(name)).toBe('That username is reserved; please choose another.');
  });

  it.each(ORDINARY)('accepts %s', (name) => {
    expect(usernameProblem(name)).toBeUndefined();
  });
});
