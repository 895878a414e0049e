// Import keys: the keys a team's customers already hold, brought in from one
// CSV file as the team stored them (owners and admins). The file is checked
// first (a dry run: how many are ready, which are refused and why), then
// imported, and the page says what became of each row. The file goes to the
// API as it is; the console reads nothing of it but its size.

import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiProblem,
  everyApplication,
  everyArx,
  ok,
  type Application,
  type Arx,
  type ImportAnswer,
  type ImportScheme,
} from '../api/client';
import { PageHead } from '../components/page';
import { asProblem, ErrorSummary, FieldError, isAbout, localProblem, plainMessage } from '../components/problems';
import { formatCount } from '../format';
import { onLinkClick } from '../router';

/** How a team may have stored its keys, in words. */
const SCHEMES: [ImportScheme, string][] = [
  ['django', 'Django REST Framework API Key (its prefix and hashed_key columns)'],
  ['sha256', 'SHA-256 of each key (hex or base64)'],
  ['sha512', 'SHA-512 of each key (hex or base64)'],
  ['argon2', 'argon2 hashes, with each key’s prefix'],
  ['bcrypt', 'bcrypt hashes, with each key’s prefix'],
  ['plaintext', 'The keys themselves'],
];

/** The most rows one file may hold (the API's bound for one call). */
const MAX_ROWS = 100;

type Checked = { answer: ImportAnswer; file: File; text: string };

export function ImportKeys() {
  const [catalog, setCatalog] = useState<{ applications: Application[]; arx: Arx[] } | null>(null);
  const [applicationId, setApplicationId] = useState('');
  const [arxId, setArxId] = useState('');
  const [scheme, setScheme] = useState<ImportScheme>('django');
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [checked, setChecked] = useState<Checked | null>(null);
  const [imported, setImported] = useState<ImportAnswer | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all([everyApplication(), everyArx()]).then(
      ([applications, arx]) => {
        const open = { applications: applications.filter((a) => a.status === 'active'), arx: arx.filter((a) => a.status === 'active') };
        setCatalog(open);
        setApplicationId(open.applications[0]?.id ?? '');
        setArxId(open.arx[0]?.id ?? '');
      },
      (error) => setProblem(asProblem(error)),
    );
  }, []);

  // Anything changed after a check makes it stale: check again.
  const change = <T,>(set: (value: T) => void) => (value: T) => {
    set(value);
    setChecked(null);
    setImported(null);
  };

  async function send(text: string, dryRun: boolean, idempotencyKey?: string): Promise<ImportAnswer> {
    return ok(
      api.POST('/v1/api-keys/import', {
        params: {
          query: { application_id: applicationId, arx_id: arxId, scheme, ...(dryRun ? { dry_run: true } : {}) },
          header: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
        },
        body: text as never,
        bodySerializer: (body: unknown) => body as string,
        headers: { 'content-type': 'text/csv' },
      }),
    );
  }

  async function check(event: Event) {
    event.preventDefault();
    setProblem(null);
    setImported(null);
    if (!applicationId || !arxId) {
      setProblem(localProblem('application_id', 'Choose the application and the Arx the keys are for.'));
      return;
    }
    if (!file) {
      setProblem(localProblem('file', 'Choose the CSV file to import.'));
      return;
    }
    setBusy(true);
    try {
      const text = await file.text();
      setChecked({ answer: await send(text, true), file, text });
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  }

  async function importChecked() {
    if (!checked) return;
    setProblem(null);
    setBusy(true);
    try {
      // One key per attempt: a retry after a lost answer is answered, not imported twice.
      setImported(await send(checked.text, false, crypto.randomUUID()));
      setChecked(null);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  }

  const fileProblem = isAbout(problem, 'file') || isAbout(problem, 'keys');
  return (
    <section aria-labelledby="import-title">
      <a class="back" href="/api-keys" onClick={onLinkClick}>
        Back to API keys
      </a>
      <PageHead id="import-title" title="Import keys" />
      <p class="lead">
        Bring in the keys your customers already hold, as you stored them: they keep working as they are. Each is moved to
        our own hash the first time it is used. Nothing is shown of the keys themselves.
      </p>
      <ErrorSummary problem={problem} fields={{ application_id: 'import-application', arx_id: 'import-arx', scheme: 'import-scheme', file: 'import-file', keys: 'import-file' }} />

      <form onSubmit={check} noValidate>
        <div class="field">
          <label for="import-application">Application</label>
          <FieldError problem={problem} field="application_id" id="import-application-error" />
          <select id="import-application" value={applicationId} onChange={(e) => change(setApplicationId)(e.currentTarget.value)}>
            {catalog?.applications.map((application) => (
              <option key={application.id} value={application.id}>
                {application.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="import-arx">Arx</label>
          <select id="import-arx" value={arxId} onChange={(e) => change(setArxId)(e.currentTarget.value)}>
            {catalog?.arx.map((arx) => (
              <option key={arx.id} value={arx.id}>
                {arx.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="import-scheme">How the keys were stored</label>
          <select id="import-scheme" value={scheme} onChange={(e) => change(setScheme)(e.currentTarget.value as ImportScheme)}>
            {SCHEMES.map(([value, words]) => (
              <option key={value} value={value}>
                {words}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="import-file">CSV file</label>
          <p class="hint" id="import-file-hint">
            A first row naming the columns, then one key a row, at most {MAX_ROWS}. Columns: <code>hash</code> (or{' '}
            <code>key</code> for the keys themselves), <code>prefix</code>, and if you like <code>name</code>,{' '}
            <code>external_id</code>, <code>expires_at</code>, <code>status</code> (active or disabled),{' '}
            <code>permissions</code> and <code>roles</code> (separated by spaces).
          </p>
          <FieldError problem={problem} field="file" id="import-file-error" />
          <input
            id="import-file"
            type="file"
            accept=".csv,text/csv"
            aria-describedby={['import-file-hint', fileProblem && 'import-file-error'].filter(Boolean).join(' ')}
            aria-invalid={fileProblem}
            onChange={(e) => change(setFile)(e.currentTarget.files?.[0] ?? null)}
          />
        </div>
        <button type="submit" class="secondary" disabled={busy}>
          Check the file
        </button>
      </form>

      {checked && (
        <section aria-labelledby="import-check-title" class="import-result">
          <h2 id="import-check-title">What the file holds</h2>
          <p role="status">
            {formatCount(checked.answer.accepted)} {checked.answer.accepted === 1 ? 'key is' : 'keys are'} ready to import
            {checked.answer.refused > 0 && `; ${formatCount(checked.answer.refused)} will not be imported`}. Nothing has been
            imported yet.
          </p>
          <Refusals answer={checked.answer} />
          {checked.answer.accepted > 0 && (
            <button type="button" onClick={importChecked} disabled={busy}>
              Import {formatCount(checked.answer.accepted)} {checked.answer.accepted === 1 ? 'key' : 'keys'}
            </button>
          )}
        </section>
      )}

      {imported && (
        <section aria-labelledby="import-done-title" class="import-result">
          <h2 id="import-done-title">Imported</h2>
          <p role="status">
            {formatCount(imported.accepted)} {imported.accepted === 1 ? 'key was' : 'keys were'} imported
            {imported.refused > 0 && `; ${formatCount(imported.refused)} ${imported.refused === 1 ? 'was' : 'were'} not`}.{' '}
            <a href="/api-keys" onClick={onLinkClick}>
              See them among the API keys
            </a>
            .
          </p>
          <Refusals answer={imported} />
        </section>
      )}
    </section>
  );
}

/** The rows that were (or would be) refused, and why, in words. */
function Refusals({ answer }: { answer: ImportAnswer }) {
  const refused = answer.items.filter((item) => item.outcome === 'refused');
  if (refused.length === 0) return null;
  return (
    <div class="table-wrap">
      <table>
        <caption>Rows not imported</caption>
        <thead>
          <tr>
            <th scope="col">Row</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {refused.map((item) => (
            <tr key={item.index}>
              <td>{formatCount(item.index + 1)}</td>
              <td>{whyRefused(item)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function whyRefused(item: ImportAnswer['items'][number]): string {
  const problem = new ApiProblem({
    type: 'about:blank',
    title: 'Refused',
    status: 400,
    code: item.code ?? 'refused',
    detail: item.reason ?? '',
    ...(item.field ? { field: item.field } : {}),
  });
  return plainMessage(problem);
}
