// The feedback button in the screen's lower right corner (the product
// page's), always in view, in a column of its own that no control enters;
// and its small form: a message, an optional rating, and the page it was
// opened on.

import { useState } from 'preact/hooks';
import { api, ok, type ApiProblem } from '../api/client';
import { Dialog, SubmitOrCancel } from './dialog';
import { asProblem, ErrorSummary, FieldError, isAbout } from './problems';

export function FeedbackButton() {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <button type="button" class="feedback-button" onClick={() => setOpen(location.pathname)}>
        {/* A speech bubble on a phone, where the word would not fit its column. */}
        <svg class="feedback-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path d="M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z" fill="currentColor" />
        </svg>
        <span class="feedback-label">Feedback</span>
      </button>
      {open !== null && <FeedbackForm page={open} onClose={() => setOpen(null)} />}
    </>
  );
}

function FeedbackForm({ page, onClose }: { page: string; onClose: () => void }) {
  const [message, setMessage] = useState('');
  const [rating, setRating] = useState<number | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await ok(api.POST('/v1/feedback', { body: { message, rating, page } }));
      setSent(true);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  }

  if (sent) {
    return (
      <Dialog title="Thank you" onClose={onClose}>
        <p role="status">Thank you for your feedback. The team reads every message.</p>
        <div class="buttons">
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title="Send feedback" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ message: 'feedback-message', rating: 'feedback-rating-1' }} />
        <div class="field">
          <label for="feedback-message">What works, what does not, what you need</label>
          <FieldError problem={problem} field="message" id="feedback-message-error" />
          <textarea
            id="feedback-message"
            rows={5}
            maxLength={4000}
            value={message}
            aria-invalid={isAbout(problem, 'message')}
            onInput={(event) => setMessage(event.currentTarget.value)}
          />
        </div>
        <fieldset class="field rating">
          <legend>How would you rate the API Keys manager? (optional)</legend>
          <FieldError problem={problem} field="rating" id="feedback-rating-error" />
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} class="inline">
              <input
                type="radio"
                name="rating"
                id={`feedback-rating-${n}`}
                checked={rating === n}
                onChange={() => setRating(n)}
              />
              {n}
            </label>
          ))}
        </fieldset>
        <p class="hint">Sent with the page you are on: {page}</p>
        <SubmitOrCancel action="Send feedback" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
