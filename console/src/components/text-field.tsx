import type { ApiProblem } from '../api/client';
import { FieldError, isAbout } from './problems';

/** A labelled input whose API problem, if it names this field, shows beside it. */
export function TextField({
  id,
  field,
  label,
  hint,
  value,
  onInput,
  problem,
  maxLength = 100,
}: {
  id: string;
  /** The API's name for it, as a problem's `field` says it. */
  field: string;
  label: string;
  hint?: string;
  value: string;
  onInput: (value: string) => void;
  problem: ApiProblem | null;
  maxLength?: number;
}) {
  const described = [hint && `${id}-hint`, isAbout(problem, field) && `${id}-error`].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldError problem={problem} field={field} id={`${id}-error`} />
      <input
        id={id}
        value={value}
        maxLength={maxLength}
        aria-invalid={isAbout(problem, field)}
        aria-describedby={described || undefined}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
    </div>
  );
}
