// Files in the chat (E17). In the composer: attached by button, drop or paste,
// each uploading at once with a progress bar and a cancel button. In a message:
// images as previews that hold their space before they load (width and height
// come with the message) and open full size in a viewer; other files as a card
// that downloads on click. URLs are asked for when shown, and expire.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RoomState } from '../chat.js';
import { describeBytes, fileProblem, isSafeImage, mediaType, prepare, sendBytes, startDownload } from '../files.js';
import type { FileInfo } from '../types.js';
import { useChat } from './context.js';
import { Dialog } from './Dialog.js';
import { CloseIcon } from './icons.js';

export interface Attachment {
  key: number;
  file: File;
  name: string;
  size: number;
  state: 'preparing' | 'uploading' | 'ready' | 'failed';
  /** 0 to 1 */
  progress: number;
  error?: string;
  /** once granted: what the message will carry */
  info?: FileInfo;
  controller: AbortController;
}

let nextKey = 1;

/** The composer's attachments: add starts preparing and uploading each at once. */
export function useAttachments(room: RoomState) {
  const chat = useChat();
  const [items, setItems] = useState<Attachment[]>([]);
  const [keepLocation, setKeepLocation] = useState(false);
  const live = useRef(items);
  live.current = items;

  const patch = (key: number, change: Partial<Attachment>) => setItems((all) => all.map((a) => (a.key === key ? { ...a, ...change } : a)));

  const start = async (a: Attachment, keep: boolean) => {
    try {
      const prepared = await prepare(a.file, keep);
      if (a.controller.signal.aborted) return;
      const grant = await chat.grantUpload(room.id, prepared);
      if (a.controller.signal.aborted) return;
      patch(a.key, { state: 'uploading', info: grant.info, size: prepared.blob.size });
      const total = prepared.blob.size + (prepared.preview?.size ?? 0);
      await sendBytes(grant.upload, prepared.blob, (f) => patch(a.key, { progress: (f * prepared.blob.size) / total }), a.controller.signal);
      if (grant.preview && prepared.preview) await sendBytes(grant.preview, prepared.preview, () => {}, a.controller.signal);
      // replaced meanwhile (prepared again): the new one reports for this key
      if (a.controller.signal.aborted) return;
      patch(a.key, { state: 'ready', progress: 1 });
    } catch (err) {
      if (a.controller.signal.aborted) return;
      patch(a.key, { state: 'failed', error: err instanceof Error ? err.message : 'The upload failed.' });
    }
  };

  const add = (files: readonly File[]) => {
    const added: Attachment[] = files.map((file) => {
      const problem = fileProblem({ name: file.name, size: file.size, type: file.type });
      return {
        key: nextKey++,
        file,
        name: file.name,
        size: file.size,
        state: problem ? 'failed' : 'preparing',
        progress: 0,
        ...(problem ? { error: problem } : {}),
        controller: new AbortController(),
      };
    });
    setItems((all) => [...all, ...added]);
    for (const a of added) if (a.state === 'preparing') void start(a, keepLocation);
    const n = added.length;
    chat.announce(`${n} ${n === 1 ? 'file' : 'files'} attached.`);
  };

  const remove = (key: number) => {
    live.current.find((a) => a.key === key)?.controller.abort();
    setItems((all) => all.filter((a) => a.key !== key));
  };

  /** Photos already attached are prepared again with the new choice. */
  const changeKeepLocation = (keep: boolean) => {
    setKeepLocation(keep);
    const photos = live.current.filter((a) => mediaType(a.file.type) === 'image/jpeg' && a.state !== 'failed');
    for (const old of photos) {
      old.controller.abort();
      const again: Attachment = { ...old, state: 'preparing', progress: 0, controller: new AbortController() };
      delete again.info;
      setItems((all) => all.map((a) => (a.key === old.key ? again : a)));
      void start(again, keep);
    }
  };

  const clear = () => setItems([]);
  const ready = items.every((a) => a.state === 'ready');
  const files = items.flatMap((a) => (a.info ? [a.info] : []));
  return { items, add, remove, clear, ready, files, keepLocation, changeKeepLocation };
}

export type Attachments = ReturnType<typeof useAttachments>;

/** The attachments above the message box. */
export function AttachmentTray({ attachments }: { attachments: Attachments }) {
  const { items, remove, keepLocation, changeKeepLocation } = attachments;
  if (!items.length) return null;
  const photos = items.some((a) => mediaType(a.file.type) === 'image/jpeg');
  return (
    <div class="attachments">
      <ul class="attachment-list" aria-label="Attached files">
        {items.map((a) => (
          <li key={a.key} class={`attachment ${a.state}`}>
            <span class="attachment-name">{a.name}</span>
            <span class="attachment-size">{describeBytes(a.size)}</span>
            {a.state === 'failed' ? (
              <span class="field-error" role="alert">
                {a.error}
              </span>
            ) : (
              <progress
                max={1}
                value={a.state === 'preparing' ? 0 : a.progress}
                aria-label={`Uploading ${a.name}`}
                aria-valuetext={a.state === 'ready' ? 'Uploaded' : `${Math.round(a.progress * 100)}%`}
              />
            )}
            <button type="button" class="icon-btn small" aria-label={`${a.state === 'ready' || a.state === 'failed' ? 'Remove' : 'Cancel'} ${a.name}`} onClick={() => remove(a.key)}>
              <CloseIcon />
            </button>
          </li>
        ))}
      </ul>
      {photos && (
        <label class="keep-location">
          <input type="checkbox" checked={keepLocation} onChange={(e) => changeKeepLocation(e.currentTarget.checked)} /> Keep location and camera details in
          photos
        </label>
      )}
    </div>
  );
}

/** The button that opens the file chooser. */
export function AttachButton({ onFiles }: { onFiles: (files: File[]) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" class="icon-btn" aria-label="Attach files" onClick={() => input.current?.click()}>
        <svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
          <path d="M21 11.5l-8.5 8.5a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3l7.5-7.5" />
        </svg>
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        aria-label="Files to attach"
        onChange={(e) => {
          const files = [...(e.currentTarget.files ?? [])];
          e.currentTarget.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </>
  );
}

/** A message's files: images first as previews, then cards. */
export function MessageFiles({ files }: { files: FileInfo[] }) {
  const chat = useChat();
  const [urls, setUrls] = useState<Map<string, { url: string; preview?: string }>>(new Map());
  const [open, setOpen] = useState<FileInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ids = files.map((f) => f.id).join(',');
  const images = files.filter((f) => isSafeImage(f.type));
  const others = files.filter((f) => !isSafeImage(f.type));

  useEffect(() => {
    if (!images.length) return;
    let cancelled = false;
    chat
      .fileUrls(images.map((f) => f.id))
      .then((u) => !cancelled && setUrls(u))
      .catch(() => !cancelled && setError('Images could not load.'));
    return () => {
      cancelled = true;
    };
  }, [ids]);

  const download = async (f: FileInfo) => {
    try {
      const got = (await chat.fileUrls([f.id])).get(f.id);
      if (!got) throw new Error();
      startDownload(got.url, f.name);
    } catch {
      chat.showToast(`${f.name} could not be downloaded.`, true);
    }
  };

  /** Opens the viewer with a URL that has time left (the one shown may have expired). */
  const view = async (f: FileInfo) => {
    const fresh = await chat.fileUrls([f.id]).catch(() => undefined);
    if (fresh?.size) setUrls((all) => new Map([...all, ...fresh]));
    setOpen(f);
  };

  return (
    <div class="msg-files">
      {images.map((f) => {
        const u = urls.get(f.id);
        const src = u?.preview ?? u?.url;
        return (
          <button key={f.id} type="button" class="file-image" aria-label={`Open image ${f.name}`} onClick={() => void view(f)}>
            {/* width and height keep the space before it loads: nothing below jumps */}
            <img src={src} alt={f.name} width={f.width} height={f.height} loading="lazy" style={f.width ? { aspectRatio: `${f.width} / ${f.height}` } : undefined} />
          </button>
        );
      })}
      {others.map((f) => (
        <button key={f.id} type="button" class="file-card" onClick={() => void download(f)}>
          <span class="sr-only">Download </span>
          <span class="file-name">{f.name}</span>
          <span class="file-meta">
            {f.type} · {describeBytes(f.size)}
          </span>
        </button>
      ))}
      {error && <p class="field-error">{error}</p>}
      {open && <ImageViewer file={open} url={urls.get(open.id)?.url} onClose={() => setOpen(null)} onDownload={() => void download(open)} />}
    </div>
  );
}

/** The image full size: a modal dialog (focus trapped, Escape closes, focus back to the preview). */
function ImageViewer({ file, url, onClose, onDownload }: { file: FileInfo; url?: string; onClose: () => void; onDownload: () => void }) {
  return (
    <Dialog
      open
      wide
      title={file.name}
      onClose={onClose}
      footer={
        <button type="button" class="btn" onClick={onDownload}>
          Download
        </button>
      }
    >
      <img class="viewer-image" src={url} alt={file.name} width={file.width} height={file.height} />
    </Dialog>
  );
}
