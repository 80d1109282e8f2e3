// Profiles (E20 in docs/PROTOCOL.md): a display name, a short status and an
// avatar beside each username. The avatar is an image shared through the file
// grants (files.ts): `upload` to any room one is in, then `set_profile` with its
// id, which checks the bytes as a send would and keeps the file while it is the
// avatar. A change is one `profile` event to each connection of everyone who
// shares a room with the person (one per connection, however many rooms they
// share); clients that were away read profiles from `authed`, `joined`,
// `members` and `profiles`. Messages never carry profiles: clients map `from`.
import * as v from 'valibot';
import { BadRequest, NotFound } from './errors.js';
import { BIDI_CONTROLS, describeBytes, isSafeImage } from './file-types.js';
import { confirmUploads, deleteFiles, fileKey } from './files.js';
import { requireCallerWithin } from './limits.js';
import {
  MAX_MARKS_PER_CHARACTER,
  USERNAME,
  codePoints,
  hasForbiddenControls,
  hasVisibleCharacter,
  mostMarksOnOneCharacter,
  usernameProblem,
} from './names.js';
import type { Broadcast, Outcome } from './outcome.js';
import type { Deps, Frame, Queryable, Sql } from './ports.js';
import { containsProfanity, applyProfanityPolicy } from './profanity.js';
import { FILE_ID, requestId } from './protocol.js';
import { fitPrefix, REPLY_BUDGET_BYTES } from './sizes.js';

export const MAX_DISPLAY_NAME = 48;
export const MAX_STATUS = 80;
/** An avatar is shown small: a larger image is refused rather than sent to every viewer. */
export const MAX_AVATAR_BYTES = 2 * 1024 * 1024;
/** Usernames one `profiles` or `avatars` request may name. */
export const MAX_PROFILES = 100;
/** A deleted account's name on the wire: '~' and its id, which no username can be. */
export const DELETED_PREFIX = '~';

/** One line of text a person shows: `what` names it in the sentences. */
function profileText(what: string, max: number) {
  return v.pipe(
    v.string(`${what} must be a string`),
    v.maxLength(max * 4 + 64, `${what} is at most ${max} characters.`),
    v.trim(),
    v.check((s) => codePoints(s) <= max, `${what} is at most ${max} characters.`),
    v.check((s) => s.isWellFormed() && !hasForbiddenControls(s) && !/[\n\r\t\u0080-\u009f\u2028\u2029]/.test(s), `${what} is one line without control characters.`),
    v.check((s) => !BIDI_CONTROLS.test(s), `${what} cannot contain characters that change the direction of text.`),
    v.check(
      (s) => mostMarksOnOneCharacter(s) <= MAX_MARKS_PER_CHARACTER,
      `A character may carry at most ${MAX_MARKS_PER_CHARACTER} accent marks; ${what.toLowerCase()} stacks more on one.`,
    ),
  );
}

// Invisible characters inside a name make it look like another ("Bo\u200Bb" is
// "Bob"); those emoji need (joiners, variation selectors, flag tags) stay.
const INVISIBLE_IN_NAME = /(?![\u200d\ufe0e\ufe0f\u{e0020}-\u{e007f}])\p{Default_Ignorable_Code_Point}/u;

const displayName = v.pipe(
  profileText('A display name', MAX_DISPLAY_NAME),
  v.check((s) => !INVISIBLE_IN_NAME.test(s), 'A display name cannot contain invisible characters.'),
  v.check(hasVisibleCharacter, 'A display name needs at least one visible character, not only spaces or invisible ones.'),
);
const status = profileText('A status', MAX_STATUS);

/**
 * `{"action":"set_profile","displayName"?,"status"?,"avatar"?}`: the fields given
 * change; `status: ""` clears the status, `avatar: null` removes the avatar.
 */
export const SetProfileFrame = v.pipe(
  v.object({
    action: v.literal('set_profile'),
    id: requestId,
    displayName: v.optional(displayName),
    status: v.optional(status),
    avatar: v.optional(v.nullable(v.pipe(v.string('avatar must be a file id'), v.regex(FILE_ID, 'That is not a file id.')))),
  }),
  v.check((f) => f.displayName !== undefined || f.status !== undefined || f.avatar !== undefined, 'Give displayName, status or avatar to change.'),
);
export type SetProfileFrame = v.InferOutput<typeof SetProfileFrame>;

const usernames = v.pipe(
  v.array(v.pipe(v.string('a username must be a string'), v.toLowerCase(), v.regex(USERNAME, 'That is not a username.')), 'users must be a list of usernames'),
  v.minLength(1, 'users must not be empty'),
  v.maxLength(MAX_PROFILES, `At most ${MAX_PROFILES} users at once.`),
);

/** `{"action":"profiles","users":[...]}`: the profiles of people one shares a room with. */
export const ProfilesFrame = v.object({ action: v.literal('profiles'), id: requestId, users: usernames });
export type ProfilesFrame = v.InferOutput<typeof ProfilesFrame>;

/** `{"action":"avatars","users":[...]}`: short-lived URLs of their avatars. */
export const AvatarsFrame = v.object({ action: v.literal('avatars'), id: requestId, users: usernames });
export type AvatarsFrame = v.InferOutput<typeof AvatarsFrame>;

/** A person's profile as PROTOCOL.md spells it: empty fields are left out. */
export interface Profile {
  username: string;
  displayName?: string;
  status?: string;
  /** the avatar's file id: its URL comes from `avatars` */
  avatar?: string;
}

export interface ProfileRow {
  username: string;
  display_name: string;
  status_text: string | null;
  avatar_file_id: string | null;
}

/**
 * The profile of a users row. The display name is left out when it is the
 * username in another case (the name as typed at sign-up), so clients show the
 * username alone.
 */
export function profileOf(row: ProfileRow): Profile {
  const p: Profile = { username: row.username };
  if (row.display_name && row.display_name.toLowerCase() !== row.username) p.displayName = row.display_name;
  if (row.status_text) p.status = row.status_text;
  if (row.avatar_file_id) p.avatar = row.avatar_file_id;
  return p;
}

/** SQL: the users row `u` shares a room with the user `viewer`, or is them. */
function visibleTo(sql: Queryable, viewer: string) {
  return sql`(u.id = ${viewer} or exists (
    select 1 from memberships mine join memberships theirs on theirs.room_id = mine.room_id
    where mine.user_id = ${viewer} and theirs.user_id = u.id))`;
}

/**
 * Every connection of everyone who shares a room with the user, theirs
 * included, each once: a profile change is one frame per connection.
 */
export async function connectionsOfRoommates(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select distinct c.id
    from memberships mine
    join memberships m on m.room_id = mine.room_id
    join connections c on c.user_id = m.user_id
    where mine.user_id = ${userId}`;
  return rows.map((r) => r.id);
}

/** The person's display name or status, under the server's profanity policy. */
function screened(deps: Deps, what: 'display name' | 'status', text: string): string {
  const policy = deps.settings.profanityFilter;
  if (policy === 'off') return text;
  // A name is shown beside every message: masked, it would still read as what it hides.
  if (what === 'display name') {
    if (containsProfanity(text)) throw new BadRequest('That display name contains words this server does not allow.');
    return text;
  }
  try {
    return applyProfanityPolicy(text, policy);
  } catch {
    throw new BadRequest('That status contains words this server does not allow.');
  }
}

// Letters of other scripts drawn like Latin ones (Cyrillic, Greek), read as those
// for the reserved check: "Аdmin" with a Cyrillic А is "admin" on screen.
const LATIN_LOOK_ALIKES: Record<string, string> = {
  а: 'a', в: 'b', с: 'c', д: 'd', е: 'e', ё: 'e', һ: 'h', н: 'h', і: 'i', ї: 'i', ј: 'j', к: 'k', м: 'm', о: 'o', р: 'p',
  ԛ: 'q', ѕ: 's', т: 't', у: 'y', х: 'x', ԝ: 'w', ӏ: 'l', ı: 'i', ɡ: 'g',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', μ: 'u', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w', ζ: 'z',
};

/**
 * A display name as it reads in Latin letters: compatibility forms folded
 * (fullwidth, mathematical bold, circled, superscript letters), accents and
 * invisible characters dropped, look-alike letters of other scripts read as Latin.
 */
export function readsAs(name: string): string {
  const folded = name.normalize('NFKD').replace(/[\p{M}\p{Default_Ignorable_Code_Point}]/gu, '').toLowerCase();
  return [...folded].map((c) => LATIN_LOOK_ALIKES[c] ?? c).join('').normalize('NFKC');
}

/** A display name may not read as the service or its staff, as usernames may not. */
function checkNotReserved(name: string, ownUsername: string): void {
  const latin = readsAs(name);
  if (latin.replace(/[^a-z0-9]/g, '') === ownUsername.replace(/[^a-z0-9]/g, '')) return;
  if (/[a-z0-9]/.test(latin) && usernameProblem(latin)) throw new BadRequest('That display name is reserved; please choose another.');
}

interface AvatarFile {
  id: string;
  room_id: string;
  content_type: string;
  size: string;
  attached_at: Date | null;
  current: boolean;
}

/**
 * The caller's own upload, a safe image of at most MAX_AVATAR_BYTES that no
 * message carries, checked in storage as a send checks it. Any other id (another
 * person's file, a file of a message, no file at all) gets the same answer.
 */
async function claimAvatar(deps: Deps, connectionId: string, userId: string, fileId: string): Promise<'same' | 'new'> {
  const { sql } = deps;
  const [file] = await sql<AvatarFile[]>`
    select f.id, f.room_id, f.content_type, f.size::text as size, f.attached_at,
      exists (select 1 from users u where u.avatar_file_id = f.id and u.id = ${userId}) as current
    from files f where f.id = ${fileId} and f.uploader_id = ${userId}`;
  const none = new NotFound('That avatar is not an image you uploaded; upload it first.');
  if (!file) throw none;
  if (file.current) return 'same';
  if (file.attached_at) throw none;
  if (!isSafeImage(file.content_type)) throw new BadRequest('An avatar is a PNG, JPEG, GIF or WebP image.');
  if (Number(file.size) > MAX_AVATAR_BYTES) throw new BadRequest(`An avatar is at most ${describeBytes(MAX_AVATAR_BYTES)}.`);
  await confirmUploads(deps, connectionId, file.room_id, [file.id]);
  // attached: no send can attach it too, and the sweep spares it while it is an avatar
  const [kept] = await sql`
    update files set attached_at = now() where id = ${file.id} and uploaded_at is not null and attached_at is null returning id`;
  if (!kept) throw none;
  return 'new';
}

/** `set_profile`: changes the caller's profile and tells everyone who can see it. */
export async function setProfile(deps: Deps, connectionId: string, frame: SetProfileFrame): Promise<Outcome> {
  const { sql } = deps;
  const caller = await requireCallerWithin(deps, connectionId, 'profile');
  const name = frame.displayName === undefined ? undefined : screened(deps, 'display name', frame.displayName);
  if (name !== undefined) checkNotReserved(name, caller.username);
  const text = frame.status === undefined ? undefined : screened(deps, 'status', frame.status);
  if (frame.avatar) {
    if (!deps.storage) throw new BadRequest('This server does not keep files, so it has no avatars.');
    await claimAvatar(deps, connectionId, caller.userId, frame.avatar);
  }
  const [row] = await sql<(ProfileRow & { old_avatar: string | null })[]>`
    with old as (select avatar_file_id from users where id = ${caller.userId} for update)
    update users u set
      display_name = ${name === undefined ? sql`u.display_name` : sql`${name || caller.username}`},
      status_text = ${text === undefined ? sql`u.status_text` : sql`${text || null}`},
      avatar_file_id = ${frame.avatar === undefined ? sql`u.avatar_file_id` : sql`${frame.avatar}`}
    from old
    where u.id = ${caller.userId}
    returning u.username, u.display_name, u.status_text, u.avatar_file_id, old.avatar_file_id as old_avatar`;
  if (!row) throw new NotFound('That account is gone.');
  // The avatar it replaced (or removed) goes for good.
  if (row.old_avatar && row.old_avatar !== row.avatar_file_id) await deleteFiles(deps, [row.old_avatar]);
  const profile = profileOf(row);
  const event: Frame = { type: 'profile', ...profile };
  const to = (await connectionsOfRoommates(sql, caller.userId)).filter((c) => c !== connectionId);
  const broadcasts: Broadcast[] = to.length ? [{ to, frame: event }] : [];
  return { reply: { type: 'profile_saved', profile }, broadcasts };
}

/** `profiles`: the profiles of the named people the caller shares a room with. */
export async function profiles(deps: Deps, connectionId: string, frame: ProfilesFrame): Promise<Outcome> {
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  const rows = await deps.sql<ProfileRow[]>`
    select u.username, u.display_name, u.status_text, u.avatar_file_id from users u
    where u.username = any(${frame.users}::text[]) and u.deleted_at is null and ${visibleTo(deps.sql, caller.userId)}
    order by u.username`;
  const { taken } = fitPrefix(rows.map(profileOf), REPLY_BUDGET_BYTES);
  const found = new Set(taken.map((p) => p.username));
  const missing = [...new Set(frame.users)].filter((u) => !found.has(u));
  return { reply: { type: 'profiles', profiles: taken, ...(missing.length ? { missing } : {}) } };
}

/**
 * `avatars`: short-lived URLs of the avatars of the named people the caller
 * shares a room with (everyone is in `general`, so in practice any signed-in
 * person). Anyone else, and anyone without an avatar, is `missing`, all alike.
 */
export async function avatarUrls(deps: Deps, connectionId: string, frame: AvatarsFrame): Promise<Outcome> {
  if (!deps.storage) throw new BadRequest('This server does not keep files, so it has no avatars.');
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  const rows = await deps.sql<{ username: string; id: string; name: string; content_type: string }[]>`
    select u.username, f.id, f.name, f.content_type from users u join files f on f.id = u.avatar_file_id
    where u.username = any(${frame.users}::text[]) and u.deleted_at is null and ${visibleTo(deps.sql, caller.userId)}`;
  const expiresAt = new Date(deps.clock.now().getTime() + deps.settings.fileUrlTtlSeconds * 1000);
  const avatars = [];
  for (const row of rows) {
    const url = await deps.storage.downloadUrl(fileKey(row.id), { contentType: row.content_type, disposition: 'inline', filename: row.name }, expiresAt);
    avatars.push({ user: row.username, file: row.id, url });
  }
  const found = new Set(rows.map((r) => r.username));
  const missing = [...new Set(frame.users)].filter((u) => !found.has(u));
  return { reply: { type: 'avatar_urls', avatars, ...(missing.length ? { missing } : {}), expiresAt: expiresAt.toISOString() } };
}
