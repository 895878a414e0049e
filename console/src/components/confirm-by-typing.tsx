// A destructive action confirmed by typing the exact id or name of what it
// acts on (the product page's delete dialog). The button is enabled only on
// an exact match; the API checks again and its refusal is shown here.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { Dialog, SubmitOrCancel } from './dialog';
import { asProblem, ErrorSummary, FieldError } from './problems';
import type { ApiProblem } from '../api/client';

export function ConfirmByTyping({
  title,
  what,
  expected,
  action,
  onDone,
  onClose,
  children,
}: {
  title: string;
  /** What to type, in words: "the key's id", "the Arx's name". */
  what: string;
  expected: string;
  /** The button's words: "Delete key". */
  action: string;
  /** Does the action; `typed` is what the user typed (the API may check it too). */
  onDone: (typed: string) => Promise<void>;
  onClose: () => void;
  children?: ComponentChildren;
}) {
  const [typed, setTyped] = useState('');
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const matches = typed === expected;
  // Why the button is still off, said as the person types.
  const why = matches
    ? ''
    : typed === ''
      ? `The button works once you have typed ${what} exactly.`
      : typed.trim() === expected
        ? 'Remove the space before or after the id: it must match exactly.'
        : expected.startsWith(typed)
          ? 'Keep typing: it does not match yet.'
          : `This does not match ${what}. Check each character.`;

  async function submit(event: Event) {
    event.preventDefault();
    if (!matches || busy) return;
    setBusy(true);
    setProblem(null);
    try {
      await onDone(typed);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ confirm: 'confirm-typed' }} />
        {children}
        <div class="field">
          <label for="confirm-typed">
            To confirm, type {what}: <code class="confirm-expected">{expected}</code>
          </label>
          <FieldError problem={problem} field="confirm" id="confirm-typed-error" />
          <input
            id="confirm-typed"
            class="mono"
            autocomplete="off"
            spellcheck={false}
            value={typed}
            aria-invalid={typed.length > 0 && !matches}
            aria-describedby={[problem?.field === 'confirm' && 'confirm-typed-error', 'confirm-typed-why'].filter(Boolean).join(' ')}
            onInput={(event) => setTyped(event.currentTarget.value)}
          />
          <p class="hint" id="confirm-typed-why" aria-live="polite">
            {why}
          </p>
        </div>
        <SubmitOrCancel action={action} busy={busy} disabled={!matches} danger onCancel={onClose} />
      </form>
    </Dialog>
  );
}
