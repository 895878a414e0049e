// The Application dashboard. Everyone browses it; owners and admins register,
// change and archive applications (archiving asks for the exact name, since
// it deletes the application's keys).

import { useState } from 'preact/hooks';
import { api, everyApplication, ok, type ApiProblem, type Application, type Technology } from '../api/client';
import { ConfirmByTyping } from '../components/confirm-by-typing';
import { Dialog, SubmitOrCancel } from '../components/dialog';
import { Notice, PageHead } from '../components/page';
import { useCatalogList } from '../components/catalog-list';
import { asProblem, ErrorSummary, FieldError } from '../components/problems';
import { TextField } from '../components/text-field';
import { capitalise, formatTime, authorName } from '../format';
import { managesCatalog, type Session } from '../session';

export function Applications({ session }: { session: Session }) {
  const { items: applications, problem, notice, changed: listChanged } = useCatalogList(everyApplication);
  const [editing, setEditing] = useState<Application | 'new' | null>(null);
  const [archiving, setArchiving] = useState<Application | null>(null);
  const manages = managesCatalog(session.role);

  function changed(message: string) {
    setEditing(null);
    setArchiving(null);
    listChanged(message);
  }

  return (
    <section aria-labelledby="applications-title">
      <PageHead id="applications-title" title="Applications">
        {manages && (
          <button type="button" onClick={() => setEditing('new')}>
            Register application
          </button>
        )}
      </PageHead>
      <Notice text={notice} />
      <ErrorSummary problem={problem} />
      {applications && applications.length === 0 && (
        <p class="empty-state">
          <strong>No applications yet.</strong> An application is a service or app that calls an Arx with its own keys.{' '}
          {manages ? 'Register the first one with the button above.' : 'Ask a platform owner or admin to register one.'}
        </p>
      )}
      {applications && applications.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Applications, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Technology</th>
                <th scope="col">CORS origins</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                {manages && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {applications.map((application) => (
                <tr key={application.id}>
                  <td>
                    {application.name}
                    <br />
                    <code class="muted">{application.id}</code>
                  </td>
                  <td data-label="Technology">{capitalise(application.technology)}</td>
                  <td data-label="CORS origins">{application.cors_origins.length ? application.cors_origins.join(', ') : '—'}</td>
                  <td data-label="Status">
                    <span class={`status status-${application.status}`}>{capitalise(application.status)}</span>
                  </td>
                  <td data-label="Created">
                    {formatTime(application.created_at)}
                    <br />
                    <span class="muted">by {authorName(application.created_by)}</span>
                  </td>
                  {manages && (
                    <td class="actions">
                      {application.status === 'active' && (
                        <>
                          <button type="button" class="secondary small" onClick={() => setEditing(application)} aria-label={`Edit ${application.name}`}>
                            Edit
                          </button>
                          <button type="button" class="danger small" onClick={() => setArchiving(application)} aria-label={`Archive ${application.name}`}>
                            Archive
                          </button>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <ApplicationForm
          application={editing === 'new' ? null : editing}
          onSaved={(saved) => changed(editing === 'new' ? `${saved.name} was registered.` : `${saved.name} was changed.`)}
          onClose={() => setEditing(null)}
        />
      )}
      {archiving && (
        <ConfirmByTyping
          title="Archive this application?"
          what="the application's name"
          expected={archiving.name}
          action="Archive application"
          onDone={async () => {
            await ok(api.POST('/v1/applications/{id}/archive', { params: { path: { id: archiving.id } } }));
            changed(`${archiving.name} was archived. Its keys are being deleted.`);
          }}
          onClose={() => setArchiving(null)}
        >
          <p>
            No new key can be created for it, and its keys are deleted: services using them are refused. This cannot be
            undone.
          </p>
        </ConfirmByTyping>
      )}
    </section>
  );
}

function ApplicationForm({
  application,
  onSaved,
  onClose,
}: {
  application: Application | null;
  onSaved: (saved: Application) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(application?.name ?? '');
  const [technology, setTechnology] = useState<Technology>(application?.technology ?? 'server');
  const [origins, setOrigins] = useState((application?.cors_origins ?? []).join('\n'));
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    const body = {
      name,
      technology,
      cors_origins: technology === 'client' ? origins.split('\n').map((o) => o.trim()).filter(Boolean) : [],
    };
    try {
      const saved = application
        ? await ok(api.PATCH('/v1/applications/{id}', { params: { path: { id: application.id } }, body }))
        : await ok(api.POST('/v1/applications', { body }));
      onSaved(saved);
    } catch (error) {
      setProblem(asProblem(error));
      setBusy(false);
    }
  }

  return (
    <Dialog title={application ? `Edit ${application.name}` : 'Register an application'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary problem={problem} fields={{ name: 'app-name', technology: 'app-tech-server', cors_origins: 'app-origins' }} />
        <TextField id="app-name" field="name" label="Name" value={name} onInput={setName} problem={problem} />
        <fieldset class="field">
          <legend>Technology</legend>
          <FieldError problem={problem} field="technology" id="app-tech-error" />
          {(['server', 'client'] as const).map((option) => (
            <label class="inline" key={option}>
              <input
                type="radio"
                name="technology"
                id={`app-tech-${option}`}
                checked={technology === option}
                onChange={() => setTechnology(option)}
              />
              {option === 'server' ? 'Server (the key stays on a server)' : 'Client (a browser or app holds the key)'}
            </label>
          ))}
        </fieldset>
        {technology === 'client' && (
          <div class="field">
            <label for="app-origins">Allowed origins (CORS), one per line</label>
            <FieldError problem={problem} field="cors_origins" id="app-origins-error" />
            <textarea id="app-origins" rows={3} value={origins} onInput={(event) => setOrigins(event.currentTarget.value)} />
          </div>
        )}
        <SubmitOrCancel action={application ? 'Save changes' : 'Register application'} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
