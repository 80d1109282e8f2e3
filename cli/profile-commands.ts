// The terminal's E20 commands: /profile, /whois, /export, /deleteaccount.
import { readUpload, sendBytes, type UploadTarget } from './files.js';
import { assembleExport, type ExportPage, type Profiles, writeExport } from './profile.js';
import { safe } from './conversation.js';

type Frame = { type: string; re?: string; [k: string]: any };

export interface ProfileContext {
  request(frame: Record<string, unknown>): Promise<Frame>;
  out(line: string): void;
  describeError(f: Frame): string;
  askSecret(question: string): Promise<string | undefined>;
  ask(question: string): Promise<string>;
  interactive: boolean;
  profiles: Profiles;
  me(): string | undefined;
  httpBase: string;
}

const PROFILE_USAGE = 'usage: /profile, /profile name TEXT, /profile status [TEXT], /profile avatar PATH|none';

async function setProfile(c: ProfileContext, change: Record<string, unknown>) {
  const r = await c.request({ action: 'set_profile', ...change });
  if (r.type !== 'profile_saved') return c.out(c.describeError(r));
  c.profiles.note(r.profile);
  c.out(`* your profile: ${c.profiles.describe(r.profile.username)}`);
}

/** An image from disk as the avatar: a grant in `general`, the bytes, then set_profile. */
async function setAvatar(c: ProfileContext, path: string) {
  if (path === 'none') return setProfile(c, { avatar: null });
  const file = await readUpload(path);
  if ('error' in file) return c.out(`! ${file.error}`);
  const grant = await c.request({ action: 'upload', room: 'general', name: file.name, size: file.size, type: file.type });
  if (grant.type !== 'upload_grant') return c.out(c.describeError(grant));
  try {
    await sendBytes(grant.upload as UploadTarget, file, c.httpBase);
  } catch (err) {
    return c.out(`! ${safe(file.name)}: ${(err as Error).message}`);
  }
  return setProfile(c, { avatar: grant.file });
}

/** Every page of the export, then one file at `path`. */
async function exportTo(c: ProfileContext, path: string) {
  const pages: ExportPage[] = [];
  let after: string | undefined;
  do {
    const page = await c.request({ action: 'export_data', ...(after ? { after } : {}) });
    if (page.type !== 'export_page') return c.out(c.describeError(page));
    pages.push(page as ExportPage);
    after = page.next;
  } while (after);
  const data = assembleExport(pages);
  try {
    await writeExport(path, data);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return c.out(`! ${safe(path)}: ${code === 'EEXIST' ? 'a file is there already; choose another path' : (err as Error).message}`);
  }
  c.out(`* saved your data to ${safe(path)}: ${data.rooms.length} rooms, ${data.messages.length} messages`);
}

async function deleteAccount(c: ProfileContext, choice: string | undefined): Promise<'deleted' | undefined> {
  if (choice !== 'keep' && choice !== 'erase') {
    c.out('usage: /deleteaccount keep|erase  (keep: your messages stay under "deleted user"; erase: they are deleted for everyone)');
    return;
  }
  if (c.interactive) {
    const sure = (await c.ask(`delete ${c.me()} for good${choice === 'erase' ? ' with all your messages' : ''}? type the username to confirm: `)).trim();
    if (sure.toLowerCase() !== c.me()) {
      c.out('* cancelled');
      return;
    }
  }
  const password = await c.askSecret('password: ');
  if (password === undefined) {
    c.out('* cancelled');
    return;
  }
  let r = await c.request({ action: 'delete_account', password, messages: choice });
  if (r.type === 'error' && r.code === 'second_factor_required') {
    // Two-factor authentication is on (E19): the same request, with a code.
    const code = (await c.ask('code from your authenticator app, or a recovery code: ')).trim();
    r = await c.request({ action: 'delete_account', password, messages: choice, code });
  }
  if (r.type !== 'account_deleted') {
    c.out(c.describeError(r));
    return;
  }
  c.out(`* your account was deleted${r.messages === 'erase' ? `, with ${r.erased} messages` : '; your messages stay under "deleted user"'}`);
  return 'deleted';
}

export async function profileCommand(cmd: string, args: string[], rest: string, c: ProfileContext): Promise<'deleted' | undefined> {
  const me = c.me();
  if (!me) {
    c.out('* log in first');
    return;
  }
  switch (cmd) {
    case '/profile': {
      const [what] = args;
      const value = rest.replace(/^\s*\S+\s?/, '');
      if (!what) {
        const r = await c.request({ action: 'profiles', users: [me] });
        for (const p of (r.profiles as unknown[]) ?? []) c.profiles.note(p as { username: string });
        c.out(`* you are ${c.profiles.describe(me)}`);
      } else if (what === 'name') {
        if (!value.trim()) c.out(PROFILE_USAGE);
        else await setProfile(c, { displayName: value });
      } else if (what === 'status') await setProfile(c, { status: value });
      else if (what === 'avatar') {
        if (!value.trim()) c.out(PROFILE_USAGE);
        else await setAvatar(c, value.trim());
      } else c.out(PROFILE_USAGE);
      return;
    }
    case '/whois': {
      const [user] = args;
      if (!user) {
        c.out('usage: /whois USER');
        return;
      }
      const r = await c.request({ action: 'profiles', users: [user] });
      if (r.type !== 'profiles') {
        c.out(c.describeError(r));
        return;
      }
      for (const p of r.profiles as { username: string }[]) c.profiles.note(p);
      if (!(r.profiles as unknown[]).length) c.out(`* nobody called ${safe(user)} shares a room with you`);
      else c.out(`* ${c.profiles.describe(user.toLowerCase())}`);
      return;
    }
    case '/export':
      if (!rest.trim()) c.out('usage: /export PATH');
      else await exportTo(c, rest.trim());
      return;
    case '/deleteaccount':
      return deleteAccount(c, args[0]);
  }
}
