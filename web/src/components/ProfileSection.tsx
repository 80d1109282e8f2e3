// The Account dialog's "Profile" section (E20): display name, status and
// picture. The picture is uploaded as a shared file in #general and then set as
// the avatar; the server checks it and keeps it while it is the avatar.
import { useState } from 'preact/hooks';
import { fileProblem, mediaType, sendBytes, type UploadTarget } from '../files.js';
import { isSafeImage } from '../../../functions/core/file-types.js';
import { Field, describeError } from './Field.js';
import { useChat } from './context.js';
import { Avatar } from './MessageList.js';

const MAX_AVATAR_BYTES = 2 * 1024 * 1024;

export function ProfileSection() {
  const chat = useChat();
  const me = chat.me.value!;
  const profile = chat.profiles.get(me.username);
  const [name, setName] = useState(chat.profiles.displayName(me.username) ?? me.displayName ?? '');
  const [status, setStatus] = useState(profile?.status ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const save = async (change: Record<string, unknown>, done: string) => {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const reply = await chat.conn.request({ action: 'set_profile', ...change });
      const p = reply.profile as { username: string; displayName?: string };
      chat.profiles.note([p]);
      chat.me.value = { ...chat.me.peek()!, displayName: p.displayName ?? p.username };
      setSaved(done);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const pick = async (file: File) => {
    const type = mediaType(file.type);
    const problem = fileProblem(file) ?? (!isSafeImage(type) ? 'A picture is a PNG, JPEG, GIF or WebP image.' : undefined) ??
      (file.size > MAX_AVATAR_BYTES ? 'A picture is at most 2 MB.' : undefined);
    if (problem) return setError(problem);
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const grant = await chat.conn.request({ action: 'upload', room: 'general', name: file.name, size: file.size, type });
      await sendBytes(grant.upload as UploadTarget, file, () => {}, new AbortController().signal);
      setBusy(false);
      await save({ avatar: grant.file }, 'Your picture is saved.');
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <section class="account-section" aria-labelledby="profile-title">
      <h3 id="profile-title">Profile</h3>
      <div class="profile-picture">
        <Avatar name={me.username} />
        <label class="btn small ghost file-pick">
          Choose a picture
          <input
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            class="sr-only"
            disabled={busy}
            onChange={(e) => {
              const file = (e.currentTarget as HTMLInputElement).files?.[0];
              (e.currentTarget as HTMLInputElement).value = '';
              if (file) void pick(file);
            }}
          />
        </label>
        {profile?.avatar && (
          <button type="button" class="btn small ghost" disabled={busy} onClick={() => void save({ avatar: null }, 'Your picture is removed.')}>
            Remove picture
          </button>
        )}
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save({ displayName: name.trim() || me.username, status }, 'Your profile is saved.');
        }}
      >
        <Field
          id="profile-name"
          label="Display name"
          hint={`Shown beside your username, @${me.username}. Up to 48 characters.`}
          maxLength={48}
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
        <Field
          id="profile-status"
          label="Status"
          hint="A short line, such as “on holiday”. Leave it empty for none."
          maxLength={80}
          value={status}
          onInput={(e) => setStatus((e.currentTarget as HTMLInputElement).value)}
        />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {saved && (
          <p class="form-note" role="status">
            {saved}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy} aria-busy={busy}>
          Save profile
        </button>
      </form>
    </section>
  );
}
