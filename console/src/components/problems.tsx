// Problems in words, the GOV.UK way: a summary at the top of the form that
// links to each field at fault, and the message again beside the field.

import { ApiProblem } from '../api/client';

/** A thrown value as a problem to show (anything else is a bug, said plainly). */
export function asProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  return new ApiProblem({
    type: 'about:blank',
    title: 'Something went wrong',
    status: 0,
    code: 'console_error',
    detail: error instanceof Error ? error.message : 'The console could not do that. Reload the page and try again.',
  });
}

/** `fields` maps the API's field names to the ids of the inputs that hold them. */
export function ErrorSummary({ problem, fields = {} }: { problem: ApiProblem | null; fields?: Record<string, string> }) {
  if (!problem) return null;
  const target = problem.field ? fields[fieldRoot(problem.field)] : undefined;
  return (
    <div class="error-summary" role="alert" tabIndex={-1}>
      <h2>There is a problem</h2>
      <p>
        {target ? (
          <a href={`#${target}`} onClick={(event) => focusField(event, target)}>
            {problem.message}
          </a>
        ) : (
          problem.message
        )}
      </p>
    </div>
  );
}

/** The message beside the field it names, if it names this one. */
export function FieldError({ problem, field, id }: { problem: ApiProblem | null; field: string; id: string }) {
  if (!problem?.field || fieldRoot(problem.field) !== field) return null;
  return (
    <p class="field-error" id={id}>
      <span class="visually-hidden">Error: </span>
      {problem.message}
    </p>
  );
}

/** Whether the problem is about this field (for `aria-invalid`). */
export function isAbout(problem: ApiProblem | null, field: string): boolean {
  return !!problem?.field && fieldRoot(problem.field) === field;
}

/** `cors_origins[2]` is about the `cors_origins` input. */
function fieldRoot(field: string): string {
  return field.replace(/\[.*$/, '').replace(/\..*$/, '');
}

function focusField(event: MouseEvent, id: string) {
  event.preventDefault();
  document.getElementById(id)?.focus();
}
