// Files shared in rooms (E17 in docs/PROTOCOL.md). Bytes never travel through
// the socket: a member asks for an upload grant (name, size, type) and sends the
// bytes straight to storage (a presigned S3 POST, or the local server's signed
// PUT); the send that attaches the file checks it arrived as granted. Downloads
// are short-lived URLs, signed only for current members of the file's room while
// its message is there. The grants and every check live here; storage (ports.ts)
// only signs and keeps bytes.
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { securityEvent } from './audit.js';
import { dmBlockSql } from './blocks.js';
import { chargeBucket, refilledTokens } from './budgets.js';
import { BadRequest, Forbidden, TooLarge, Unauthorized } from './errors.js';
import { notExpired } from './expiry.js';
import { callerRow, limitHit, requireCallerWithin, userBudget, userRefusal } from './limits.js';
import { codePoints, hasForbiddenControls } from './names.js';
import type { Outcome } from './outcome.js';
import { BIDI_CONTROLS, MAX_FILE_NAME, MAX_PREVIEW_BYTES, PREVIEW_TYPE, describeBytes, isSafeImage, refusedType } from './file-types.js';
import type { Deps, DownloadHeaders, Queryable, Storage } from './ports.js';
import { fileIds, requestId, room } from './protocol.js';
import { describeRoom, dmBlocked } from './messages.js';

/** An image's sides, in pixels, as a browser can decode it. */
const MAX_IMAGE_SIDE = 65_535;
/** Uploads never attached to a message are deleted after this. */
export const UNATTACHED_TTL_SECONDS = 24 * 60 * 60;

/** The safe images (file-types.ts) by their first bytes. */
const SIGNATURES: Record<string, (head: Buffer) => boolean> = {
  'image/png': (h) => h.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff,
  'image/gif': (h) => ['GIF87a', 'GIF89a'].includes(h.subarray(0, 6).toString('latin1')),
  'image/webp': (h) => h.subarray(0, 4).toString('latin1') === 'RIFF' && h.subarray(8, 12).toString('latin1') === 'WEBP',
};
/** Bytes of a file's start that stat reads, enough for every signature above. */
export const HEAD_BYTES = 16;

export const fileKey = (id: string) => `files/${id}`;
export const previewKey = (id: string) => `files/${id}.preview`;

const fileName = v.pipe(
  v.string('name must be a string'),
  v.maxLength(MAX_FILE_NAME * 2, `A file name is at most ${MAX_FILE_NAME} characters.`),
  v.check((s) => s.trim().length > 0, 'A file needs a name.'),
  v.check((s) => codePoints(s) <= MAX_FILE_NAME, `A file name is at most ${MAX_FILE_NAME} characters.`),
  v.check((s) => s.isWellFormed() && !hasForbiddenControls(s) && !/[\u0000-\u001f\u007f]/.test(s), 'A file name cannot contain control characters.'),
  v.check((s) => !/[/\\]/.test(s) && s !== '.' && s !== '..', 'A file name is a name, not a path: no / or \\.'),
  v.check((s) => !/[\u0080-\u009f]/.test(s), 'A file name cannot contain control characters.'),
  v.check((s) => !BIDI_CONTROLS.test(s), 'A file name cannot contain characters that change the direction of text.'),
);

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const contentType = v.pipe(
  v.string('type must be a string'),
  v.maxLength(200, 'That is not a media type.'),
  // Parameters (charset=...) say nothing storage needs; unknown types are octet-stream.
  v.transform((s) => s.split(';')[0]!.trim().toLowerCase() || 'application/octet-stream'),
  v.regex(MIME, 'type must be a media type such as image/png.'),
);

const whole = (field: string, max: number) =>
  v.pipe(v.number(`${field} must be a number`), v.integer(`${field} must be a whole number`), v.minValue(1, `${field} is at least 1`), v.maxValue(max, `${field} is at most ${max}`));

/** `{"action":"upload","room","name","size","type","width"?,"height"?,"previewSize"?}` */
export const UploadFrame = v.pipe(
  v.object({
    action: v.literal('upload'),
    id: requestId,
    room,
    name: fileName,
    size: whole('size', Number.MAX_SAFE_INTEGER),
    type: contentType,
    width: v.optional(whole('width', MAX_IMAGE_SIDE)),
    height: v.optional(whole('height', MAX_IMAGE_SIDE)),
    previewSize: v.optional(whole('previewSize', MAX_PREVIEW_BYTES)),
  }),
  v.check((f) => (f.width === undefined) === (f.height === undefined), 'width and height go together.'),
  v.check((f) => isSafeImage(f.type) || (f.width === undefined && f.previewSize === undefined), 'Only png, jpeg, gif and webp images have a width, height and preview.'),
);
export type UploadFrame = v.InferOutput<typeof UploadFrame>;

/** `{"action":"download","files":[id, ...]}`: URLs for files of messages one can read. */
export const DownloadFrame = v.object({ action: v.literal('download'), id: requestId, files: fileIds });
export type DownloadFrame = v.InferOutput<typeof DownloadFrame>;

function requireStorage(deps: Deps): Storage {
  if (!deps.storage) throw new BadRequest('This server does not keep files.');
  return deps.storage;
}

/**
 * `upload`: a grant to send one file's bytes (and its preview's) straight to
 * storage. Cheap checks first (the frame, the size, the type), then the caller
 * and their hourly budget, the room, the total they keep; then a row, pending
 * until a send attaches it.
 */
export async function grantUpload(deps: Deps, connectionId: string, frame: UploadFrame): Promise<Outcome> {
  const { sql, settings } = deps;
  const storage = requireStorage(deps);
  if (frame.size > settings.fileMaxBytes) {
    throw new TooLarge(`A file is at most ${describeBytes(settings.fileMaxBytes)}; ${frame.name} is larger.`);
  }
  const refused = refusedType(settings.fileRefusedTypes, frame.name, frame.type);
  if (refused) throw new BadRequest(`Files of type ${refused} cannot be shared here: they could run as programs.`);
  const id = randomBytes(16).toString('base64url');
  const [row] = await insertGrant(deps, connectionId, id, frame);
  if (!row) throw new Unauthorized('Log in first.');
  if (!row.taken) {
    limitHit(deps.log, 'upload', { user: row.username, connection: connectionId });
    throw userRefusal(settings, 'upload', row.tokens ?? 0);
  }
  if (!row.member) throw new Forbidden(`You are not a member of ${describeRoom(frame.room)}.`);
  if (row.dm_block) throw dmBlocked(frame.room, row.username, row.dm_block);
  if (!row.inserted) {
    throw new TooLarge(`Your files take up to ${describeBytes(settings.fileQuotaBytes)} in all; delete some messages with files to share more.`);
  }
  const expiresAt = new Date(deps.clock.now().getTime() + settings.fileUploadTtlSeconds * 1000);
  const upload = await storage.uploadTarget(fileKey(id), frame.size, frame.type, expiresAt);
  const preview = frame.previewSize ? await storage.uploadTarget(previewKey(id), frame.previewSize, PREVIEW_TYPE, expiresAt) : undefined;
  return {
    reply: { type: 'upload_grant', file: id, upload, ...(preview ? { preview } : {}), expiresAt: expiresAt.toISOString() },
  };
}

/**
 * The grant as one statement: the caller (from the connection row), a token of
 * their hourly budget, membership of the room, their total so far, and the row.
 * The total is read from the statement's snapshot: two grants racing may both
 * pass it by one file each, which the hourly budget bounds.
 */
function insertGrant(deps: Deps, connectionId: string, id: string, frame: UploadFrame) {
  const { sql, settings } = deps;
  const budget = userBudget(settings, 'upload');
  const now = deps.clock.now();
  const bytes = frame.size + (frame.previewSize ?? 0);
  // *(E22)* No file goes into a DM across a block, either way (blocks.ts); only
  // a DM's statement reads blocks.
  const dmUsers = frame.room.kind === 'dm' ? frame.room.users : undefined;
  return sql<{
    username: string;
    taken: boolean;
    tokens: number | null;
    member: boolean;
    dm_block?: 'mine' | 'theirs' | null;
    inserted: boolean;
  }[]>`
    with caller as (${callerRow(sql, connectionId, 'upload')}), taken as (${chargeBucket(sql, sql`select key from caller`, budget, now)}
    ), member as (
      select 1 from memberships m join caller c on m.user_id = c.user_id where m.room_id = ${frame.room.id}
    ), ${
      dmUsers ? sql`dm_block as (select ${dmBlockSql(sql, dmUsers)} as way from (select 1) one left join caller s on true), ` : sql``
    }inserted as (
      insert into files (id, room_id, uploader_id, name, content_type, size, width, height, preview_size)
      select ${id}, ${frame.room.id}, c.user_id, ${frame.name}, ${frame.type}, ${frame.size},
        ${frame.width ?? null}, ${frame.height ?? null}, ${frame.previewSize ?? null}
      from caller c
      where exists (select 1 from taken) and exists (select 1 from member)
        ${dmUsers ? sql`and (select way from dm_block) is null` : sql``}
        and (select coalesce(sum(f.size + coalesce(f.preview_size, 0)), 0) from files f where f.uploader_id = c.user_id) + ${bytes}
          <= ${settings.fileQuotaBytes}
      returning id
    )
    select c.username, exists (select 1 from taken) as taken,
      (select ${refilledTokens(sql, budget, now)} from rate_budgets b where b.key = c.key) as tokens,
      exists (select 1 from member) as member,
      ${dmUsers ? sql`(select way from dm_block) as dm_block,` : sql``}
      exists (select 1 from inserted) as inserted
    from caller c`;
}

interface PendingFile {
  id: string;
  name: string;
  content_type: string;
  size: string;
  preview_size: number | null;
}

/**
 * Before a send attaches files: each one not yet confirmed must be in storage
 * with the granted size and type (an image's first bytes must be that image,
 * its preview a WebP). Only then is it marked uploaded, and spared by storage's
 * expiry of unattached uploads. A file that arrived otherwise is deleted, bytes
 * and row, and the send refused. Only sends with files pay for this.
 */
export async function confirmUploads(deps: Deps, connectionId: string, roomId: string, ids: readonly string[]): Promise<void> {
  const storage = requireStorage(deps);
  const { sql } = deps;
  // Only the caller's own uploads to this room: anyone else's id is left for the
  // send statement to refuse, telling nothing of the file.
  const pending = await sql<PendingFile[]>`
    select f.id, f.name, f.content_type, f.size::text, f.preview_size
    from files f join connections c on c.user_id = f.uploader_id
    where c.id = ${connectionId} and f.room_id = ${roomId} and f.id = any(${ids}::text[]) and f.uploaded_at is null`;
  for (const file of pending) {
    const problem = await uploadProblem(storage, file);
    if (problem === 'missing') throw new BadRequest(`${file.name} has not finished uploading; send it once it has.`);
    if (problem) {
      securityEvent(deps.log, 'file_refused', { file: file.id, reason: problem });
      await removeFiles(deps, sql`id = ${file.id}`);
      throw new BadRequest(`${file.name} was refused: ${problem}. Nothing was kept.`);
    }
    await sql`update files set uploaded_at = now() where id = ${file.id}`;
  }
}

// Sealed first, checked after: the bytes checked are the bytes served, which a
// grant that is still good (S3's POST policy can be used until it expires)
// can no longer replace.
async function uploadProblem(storage: Storage, file: PendingFile): Promise<string | 'missing' | undefined> {
  const stored = (await storage.seal(fileKey(file.id))) ? await storage.stat(fileKey(file.id)) : undefined;
  if (!stored) return 'missing';
  if (stored.size !== Number(file.size)) return `its size is not the ${file.size} bytes it was granted`;
  if (stored.contentType !== undefined && stored.contentType !== file.content_type) return `its type is not the ${file.content_type} it was granted`;
  const sniff = SIGNATURES[file.content_type];
  if (sniff && !sniff(stored.head)) return `it is not the ${file.content_type} image it claims to be`;
  if (!file.preview_size) return undefined;
  const preview = (await storage.seal(previewKey(file.id))) ? await storage.stat(previewKey(file.id)) : undefined;
  if (!preview) return 'missing';
  if (preview.size !== file.preview_size || !SIGNATURES[PREVIEW_TYPE]!(preview.head)) return 'its preview is not the WebP image it was granted';
  return undefined;
}

/** SQL for a message's files as MESSAGE lists them (FileInfo), from rows of `files` in scope as `f`. */
export function fileInfoJson(sql: Queryable) {
  return sql`json_strip_nulls(json_build_object(
    'id', f.id, 'name', f.name, 'type', f.content_type, 'size', f.size, 'width', f.width, 'height', f.height,
    'preview', case when f.preview_size is not null then true end))`;
}

/** How a file (or its preview) downloads: safe images inline as themselves, the rest as opaque attachments. */
export function downloadHeaders(file: { name: string; content_type: string }, preview = false): DownloadHeaders {
  if (preview) return { contentType: PREVIEW_TYPE, disposition: 'inline', filename: file.name.replace(/\.[^.]*$/, '') + '.webp' };
  if (isSafeImage(file.content_type)) return { contentType: file.content_type, disposition: 'inline', filename: file.name };
  return { contentType: 'application/octet-stream', disposition: 'attachment', filename: file.name };
}

/** `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`: the name as text, never as a path. */
export function contentDisposition(disposition: string, filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  return `${disposition === 'inline' ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/**
 * `download`: short-lived URLs of files on messages that are there (neither
 * deleted nor expired, though the sweep may not have run yet), in rooms the
 * caller is a member of now. Ids that are not (or no longer) are listed as
 * `missing`, all alike, so nothing tells another room's file from no file.
 */
export async function downloadUrls(deps: Deps, connectionId: string, frame: DownloadFrame): Promise<Outcome> {
  const storage = requireStorage(deps);
  const caller = await requireCallerWithin(deps, connectionId, 'read');
  const rows = await deps.sql<{ id: string; name: string; content_type: string; preview_size: number | null }[]>`
    select f.id, f.name, f.content_type, f.preview_size from files f
    join messages m on m.id = f.message_id and m.deleted_at is null and ${notExpired(deps.sql, 'm')}
    join memberships mm on mm.room_id = f.room_id and mm.user_id = ${caller.userId}
    where f.id = any(${frame.files}::text[])`;
  const expiresAt = new Date(deps.clock.now().getTime() + deps.settings.fileUrlTtlSeconds * 1000);
  const files = [];
  for (const row of rows) {
    const url = await storage.downloadUrl(fileKey(row.id), downloadHeaders(row), expiresAt);
    const preview = row.preview_size ? await storage.downloadUrl(previewKey(row.id), downloadHeaders(row, true), expiresAt) : undefined;
    files.push({ id: row.id, url, ...(preview ? { preview } : {}) });
  }
  const found = new Set(rows.map((r) => r.id));
  const missing = frame.files.filter((id) => !found.has(id));
  return { reply: { type: 'download_urls', files, ...(missing.length ? { missing } : {}), expiresAt: expiresAt.toISOString() } };
}

/** What deleting files needs: the database, and storage where the server keeps files. */
export type FileDeps = Pick<Deps, 'sql' | 'storage'>;

/**
 * Deletes the files `where` selects (on `files`, unqualified), bytes first: if
 * storage fails, the rows stay and the sweep tries again. Returns how many went.
 */
async function removeFiles(deps: FileDeps, where: ReturnType<Queryable>): Promise<number> {
  const { sql } = deps;
  const rows = await sql<{ id: string; preview_size: number | null }[]>`select id, preview_size from files where ${where} limit 1000`;
  if (!rows.length) return 0;
  if (deps.storage) await deps.storage.remove(rows.flatMap((r) => (r.preview_size ? [fileKey(r.id), previewKey(r.id)] : [fileKey(r.id)])));
  await sql`delete from files where id = any(${rows.map((r) => r.id)}::text[])`;
  return rows.length;
}

/**
 * The files of these messages, gone for good: called when messages are deleted
 * (one's own delete, a purge, messages that expire).
 */
export async function deleteFilesOf(deps: Deps, messageIds: readonly string[]): Promise<number> {
  if (!messageIds.length) return 0;
  return removeFiles(deps, deps.sql`message_id = any(${messageIds}::bigint[])`);
}

/** These files, gone for good (a deleted message's, detached by its statement). */
export async function deleteFiles(deps: Deps, ids: readonly string[]): Promise<number> {
  return removeFiles(deps, deps.sql`id = any(${ids}::text[])`);
}

/** Every file a person uploaded, attached or not (an account that goes). */
export async function deleteFilesOfUser(deps: FileDeps, userId: string): Promise<number> {
  return removeAll(deps, deps.sql`uploader_id = ${userId}`);
}

/** The files of a person's messages that are tombstones (after a purge). */
export async function deleteFilesOfDeletedMessages(deps: FileDeps, senderId: string): Promise<number> {
  return removeAll(deps, deps.sql`message_id in (select m.id from messages m where m.sender_id = ${senderId} and m.deleted_at is not null)`);
}

async function removeAll(deps: FileDeps, where: ReturnType<Queryable>): Promise<number> {
  let total = 0;
  for (let n = -1; n !== 0; total += n) n = await removeFiles(deps, where);
  return total;
}

/**
 * The sweep: uploads never attached within a day, files whose message became a
 * tombstone (a delete that could not reach storage), and files whose message
 * row is gone. A batch per call: the next sweep takes the rest.
 */
export async function sweepFiles(deps: Deps): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - UNATTACHED_TTL_SECONDS * 1000);
  return removeFiles(
    deps,
    deps.sql`((attached_at is null and created_at < ${before})
      or (attached_at is not null and message_id is null)
      or message_id in (select m.id from messages m where m.id = files.message_id and m.deleted_at is not null))
      -- an avatar (E20, profile.ts) is attached to its person, not to a message
      and not exists (select 1 from users u where u.avatar_file_id = files.id)`,
  );
}
