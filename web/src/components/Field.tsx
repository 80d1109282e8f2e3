// A form field with a visible label, an optional hint and an error that is tied
// to the input for screen readers (aria-describedby, aria-invalid).
import type { JSX } from 'preact';
import type { Ref } from 'preact';

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'id' | 'label' | 'ref'>;

export function Field({
  id,
  label,
  hint,
  error,
  inputRef,
  ...input
}: InputProps & { id: string; label: string; hint?: string; error?: string | null; inputRef?: Ref<HTMLInputElement> }) {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        ref={inputRef}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** A message for a failed request, in words a person can act on. */
export function describeError(err: unknown): string {
  if (err instanceof Error && err.name === 'ConnectionLost') return 'Cannot reach the server right now. We keep trying; try again in a moment.';
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong. Please try again.';
}
