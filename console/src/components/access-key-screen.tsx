// The access key's one screen, after a create or a rotation: the key with a
// copy button, the Arx URL, a plain warning, and "I have stored it" before it
// closes. While it is open, leaving the page (a link, Back, a reload) asks.
// The key lives in this component's props and nowhere else.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { CreatedApiKey } from '../api/client';
import { warnBeforeLeaving } from '../router';
import { CopyButton } from './copy-button';

/**
 * The access key, this once (after a create or a rotation). Closing needs
 * "I have stored it"; leaving the page meanwhile asks first.
 */
export function AccessKeyScreen({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const [stored, setStored] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    warnBeforeLeaving('The access key will not be shown again. Leave this page without storing it?');
    heading.current?.focus();
    return () => warnBeforeLeaving(null);
  }, []);

  function done() {
    warnBeforeLeaving(null);
    onDone();
  }

  return (
    <section aria-labelledby="access-key-title" class="narrow">
      <h1 id="access-key-title" tabIndex={-1} ref={heading}>
        Your new access key
      </h1>
      {created.api_key.rotated_from && (
        <p>
          It replaces <code>{created.api_key.rotated_from}</code>, which keeps working until the grace period you chose
          ends. Switch your services to this key before then.
        </p>
      )}
      <div class="warning" role="note">
        <strong>Store it now. It will not be shown again.</strong> The API Keys manager keeps only a one-way hash of it:
        nobody can show it to you later. If it is lost, create a new key and delete this one.
      </div>
      <div class="field">
        <p class="label" id="access-key-label">
          Access key
        </p>
        <div class="secret-box">
          <code id="access-key" aria-labelledby="access-key-label">
            {created.access_key}
          </code>
          <CopyButton text={created.access_key} label="Copy the access key" />
        </div>
      </div>
      <dl class="summary">
        <div>
          <dt>Key id</dt>
          <dd>
            <code>{created.api_key.id}</code>
          </dd>
        </div>
        <div>
          <dt>Arx URL</dt>
          <dd>
            <code>{created.arx_url}</code> <CopyButton text={created.arx_url} label="Copy the Arx URL" />
          </dd>
        </div>
        <div>
          <dt>For</dt>
          <dd>
            {created.api_key.application_name} in {created.api_key.arx_name}
          </dd>
        </div>
      </dl>
      <div class="field checkbox">
        <input id="stored" type="checkbox" checked={stored} onChange={(event) => setStored(event.currentTarget.checked)} />
        <label for="stored">I have stored the access key somewhere safe</label>
      </div>
      <button type="button" disabled={!stored} onClick={done}>
        Done
      </button>
    </section>
  );
}
