// The access key's one screen, after a create or a rotation: the key, the
// Arx URL, what it replaces (see `OneTimeSecret` for how the screen keeps it).

import type { CreatedApiKey } from '../api/client';
import { CopyButton } from './copy-button';
import { OneTimeSecret } from './one-time-secret';

/**
 * A URL that breaks after its last `/` on a narrow screen, never at the
 * hyphens of the id that ends it (`…/arx-` / `-01a2…` reads as two URLs).
 */
function Url({ url }: { url: string }) {
  const cut = url.lastIndexOf('/') + 1;
  return (
    <code class="url">
      <span>{url.slice(0, cut)}</span>
      <wbr />
      <span class="url-end">{url.slice(cut)}</span>
    </code>
  );
}

/**
 * The access key, this once (after a create or a rotation). Closing needs
 * "I have stored it"; leaving the page meanwhile asks first.
 */
export function AccessKeyScreen({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  return (
    <OneTimeSecret
      id="access-key"
      title="Your new access key"
      label="access key"
      secret={created.access_key}
      onDone={onDone}
      intro={
        created.api_key.rotated_from && (
          <p>
            It replaces <code>{created.api_key.rotated_from}</code>, which keeps working until the grace period you chose
            ends. Switch your services to this key before then.
          </p>
        )
      }
      warning="The API Keys manager keeps only a one-way hash of it: nobody can show it to you later. If it is lost, create a new key and delete this one."
      summary={
        <>
          <div>
            <dt>Key id</dt>
            <dd>
              <code class="id">{created.api_key.id}</code> <CopyButton text={created.api_key.id} label="Copy the key id" />
            </dd>
          </div>
          <div>
            <dt>Arx URL</dt>
            <dd>
              <Url url={created.arx_url} /> <CopyButton text={created.arx_url} label="Copy the Arx URL" />
            </dd>
          </div>
          <div>
            <dt>For</dt>
            <dd>
              {created.api_key.application_name} in {created.api_key.arx_name}
            </dd>
          </div>
        </>
      }
    />
  );
}
