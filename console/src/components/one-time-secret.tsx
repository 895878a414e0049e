// A secret's one screen (an access key after a create or a rotation, a
// service key after its create): the secret with a copy button, a plain
// warning, what it is for, and "I have stored it" before it closes. While it
// is open, leaving the page (a link, Back, a reload) asks first. The secret
// lives in this component's props and nowhere else.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { warnBeforeLeaving } from '../router';
import { CopyButton } from './copy-button';

export function OneTimeSecret({
  id,
  title,
  label,
  secret,
  warning,
  intro,
  summary,
  onDone,
}: {
  /** The secret's element id; its heading, label and checkbox ids derive from it. */
  id: string;
  title: string;
  /** What the secret is called: "access key", "service key". */
  label: string;
  secret: string;
  warning: ComponentChildren;
  intro?: ComponentChildren;
  /** The rows of what it is for (`<div><dt/><dd/></div>`). */
  summary: ComponentChildren;
  onDone: () => void;
}) {
  const [stored, setStored] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    warnBeforeLeaving(`The ${label} will not be shown again. Leave this page without storing it?`);
    heading.current?.focus();
    return () => warnBeforeLeaving(null);
  }, []);
  const name = label.charAt(0).toUpperCase() + label.slice(1);

  return (
    <section aria-labelledby={`${id}-title`} class="narrow">
      <h1 id={`${id}-title`} tabIndex={-1} ref={heading}>
        {title}
      </h1>
      {intro}
      <div class="warning" role="note">
        <strong>Store it now. It will not be shown again.</strong> {warning}
      </div>
      <div class="field">
        <p class="label" id={`${id}-label`}>
          {name}
        </p>
        <div class="secret-box">
          <code id={id} aria-labelledby={`${id}-label`}>
            {secret}
          </code>
          <CopyButton text={secret} label={`Copy the ${label}`} />
        </div>
      </div>
      <dl class="summary">{summary}</dl>
      <div class="field checkbox">
        <input id={`${id}-stored`} type="checkbox" checked={stored} onChange={(event) => setStored(event.currentTarget.checked)} />
        <label for={`${id}-stored`}>I have stored the {label} somewhere safe</label>
      </div>
      <button
        type="button"
        disabled={!stored}
        onClick={() => {
          warnBeforeLeaving(null);
          onDone();
        }}
      >
        Done
      </button>
    </section>
  );
}
