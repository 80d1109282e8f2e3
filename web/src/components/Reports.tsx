// Reports (E22): the dialog in which anyone reports a message with a reason, and
// the administrators' "Reports" dialog: each open report with the reported text,
// and Delete message, Dismiss, and Suspend the author for a time or for good.
import { useState } from 'preact/hooks';
import { type Report, SUSPENSIONS } from '../safety.js';
import { Dialog } from './Dialog.js';
import { describeError } from './Field.js';
import { useChat } from './context.js';

const MAX_REASON = 500;

export function ReportMessageDialog() {
  const chat = useChat();
  const target = chat.safety.reportTarget.value;
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    chat.safety.reportTarget.value = null;
    setReason('');
    setError(null);
  };
  const tooLong = [...reason.trim()].length > MAX_REASON;
  return (
    <Dialog open={target !== null} onClose={close} title="Report message">
      {target && (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            if (!reason.trim() || tooLong) return;
            setBusy(true);
            setError(null);
            try {
              await chat.safety.report(target, reason.trim());
              close();
              chat.showToast('Reported. The server’s administrators will look at it.');
            } catch (err) {
              setError(describeError(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>
            The server’s administrators will see this message by <strong>{target.from}</strong> and your reason. {target.from} is not told
            who reported it.
          </p>
          <label for="report-reason">Why are you reporting it?</label>
          <textarea
            id="report-reason"
            rows={3}
            value={reason}
            aria-invalid={tooLong || error ? 'true' : undefined}
            aria-describedby="report-hint"
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <p id="report-hint" class={error || tooLong ? 'field-error' : 'hint'} role={error ? 'alert' : undefined}>
            {error ?? (tooLong ? `At most ${MAX_REASON} characters` : `Up to ${MAX_REASON} characters`)}
          </p>
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={close}>
              Cancel
            </button>
            <button type="submit" class="btn primary" disabled={busy || !reason.trim() || tooLong}>
              Send report
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

export function ReportsDialog() {
  const chat = useChat();
  const open = chat.safety.reportsOpen.value;
  const reports = chat.safety.reports.value;
  return (
    <Dialog open={open} onClose={() => (chat.safety.reportsOpen.value = false)} title="Reports" wide>
      {reports.length === 0 ? (
        <p>No open reports.</p>
      ) : (
        <ul class="reports-list" aria-label="Open reports">
          {reports.map((r) => (
            <ReportItem key={r.id} report={r} />
          ))}
        </ul>
      )}
    </Dialog>
  );
}

function ReportItem({ report }: { report: Report }) {
  const chat = useChat();
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; error?: boolean } | null>(null);
  const [length, setLength] = useState('1');
  const id = `report-${report.id}`;
  const act = async (work: () => Promise<string | void>) => {
    setBusy(true);
    setNote(null);
    try {
      const said = await work();
      if (said) setNote({ text: said });
    } catch (err) {
      setNote({ text: describeError(err), error: true });
    } finally {
      setBusy(false);
    }
  };
  const where = report.room.startsWith('dm:') ? 'a direct conversation' : `#${report.room}`;
  return (
    <li class="report" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} class="report-title">
        {report.by} reported a message by {report.from} in {where}
      </h3>
      <blockquote class="report-text">{report.text}</blockquote>
      {report.messageDeleted && <p class="hint">The message has been deleted since.</p>}
      <p>
        <span class="report-label">Reason:</span> {report.reason}
      </p>
      <div class="report-actions">
        <button type="button" class="btn small danger" disabled={busy} onClick={() => void act(() => chat.safety.resolve(report, 'delete_message'))}>
          Delete message
        </button>
        <button type="button" class="btn small" disabled={busy} onClick={() => void act(() => chat.safety.resolve(report, 'dismiss'))}>
          Dismiss
        </button>
        <label for={`${id}-length`} class="sr-only">
          Suspend {report.from} for
        </label>
        <select id={`${id}-length`} value={length} onChange={(e) => setLength(e.currentTarget.value)}>
          {SUSPENSIONS.map((s, i) => (
            <option key={s.label} value={String(i)}>
              {s.label}
            </option>
          ))}
        </select>
        <button
          type="button"
          class="btn small danger"
          disabled={busy}
          onClick={() => void act(() => chat.safety.suspend(report.from, SUSPENSIONS[Number(length)]!.seconds))}
        >
          Suspend {report.from}
        </button>
      </div>
      {note && (
        <p class={note.error ? 'field-error' : 'hint'} role={note.error ? 'alert' : 'status'}>
          {note.text}
        </p>
      )}
    </li>
  );
}
