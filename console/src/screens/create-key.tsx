// Creating a key, one question at a time (the product page's flow): the
// application, then the Arx, then what it may do and who owns it (both
// optional), then a name and expiry, then the API's own summary
// (`?dry_run=true`), then the key, shown once.
//
// Each step is an address of its own (`/api-keys/new`, `…/arx`, `…/access`,
// `…/details`, `…/review`), so Back goes one step back; the answers so far
// (never the key, which exists only after the last step) are kept for this
// tab in sessionStorage, so a reload keeps them.

import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import {
  api,
  everyApplication,
  everyArx,
  ok,
  ApiProblem,
  type Application,
  type Arx,
  type CreatedApiKey,
  type NewApiKey,
  type Summary,
} from '../api/client';
import {
  ACCESS_FIELD_INPUTS,
  AccessFields,
  AllowlistText,
  parseMeta,
  parseOwner,
  parseAllowlist,
  parsePermissions,
  MetaRows,
  PermissionList,
} from '../components/access-fields';
import { AccessKeyScreen } from '../components/access-key-screen';
import { asProblem, ErrorSummary, FieldError, isAbout } from '../components/problems';
import { capitalise, endOfDayUtc, formatTime } from '../format';
import { flash } from '../flash';
import { navigate, onLinkClick } from '../router';

type Step = 'application' | 'arx' | 'access' | 'details' | 'review';

const STEPS: Step[] = ['application', 'arx', 'access', 'details', 'review'];

/** The address of each step. */
export const CREATE_PATHS: Record<Step, string> = {
  application: '/api-keys/new',
  arx: '/api-keys/new/arx',
  access: '/api-keys/new/access',
  details: '/api-keys/new/details',
  review: '/api-keys/new/review',
};

/** What a tab has answered so far: no secret, only the choices. */
type Draft = {
  applicationId: string;
  arxId: string;
  permissions: string;
  roles: string[];
  allowlist: string;
  allowlistMode: 'enforce' | 'report';
  owner: string;
  meta: string;
  name: string;
  expiresOn: string;
};

const DRAFT_KEY = 'create-key-draft';
const EMPTY_DRAFT: Draft = {
  applicationId: '',
  arxId: '',
  permissions: '',
  roles: [],
  allowlist: '',
  allowlistMode: 'enforce',
  owner: '',
  meta: '',
  name: '',
  expiresOn: '',
};

function savedDraft(): Draft {
  try {
    return { ...EMPTY_DRAFT, ...(JSON.parse(sessionStorage.getItem(DRAFT_KEY) ?? '{}') as Partial<Draft>) };
  } catch {
    return EMPTY_DRAFT;
  }
}

/** Forgets the answers: a new key starts from the first question. */
export function clearCreateDraft(): void {
  sessionStorage.removeItem(DRAFT_KEY);
}

const STEP_FIELDS: Record<string, Step> = {
  application_id: 'application',
  arx_id: 'arx',
  permissions: 'access',
  roles: 'access',
  allowlist: 'access',
  external_id: 'access',
  meta: 'access',
  name: 'details',
  expires_at: 'details',
};

export function CreateKey({ path }: { path: string }) {
  const step = STEPS.find((each) => CREATE_PATHS[each] === path) ?? 'application';
  const [draft] = useState(savedDraft);
  const [applications, setApplications] = useState<Application[] | null>(null);
  const [arxList, setArxList] = useState<Arx[] | null>(null);
  const [applicationId, setApplicationId] = useState(draft.applicationId);
  const [arxId, setArxId] = useState(draft.arxId);
  const [name, setName] = useState(draft.name);
  const [expiresOn, setExpiresOn] = useState(draft.expiresOn);
  const [permissions, setPermissions] = useState(draft.permissions);
  const [roles, setRoles] = useState<string[]>(Array.isArray(draft.roles) ? draft.roles : []);
  const [allowlist, setAllowlist] = useState(draft.allowlist);
  const [allowlistMode, setAllowlistMode] = useState<'enforce' | 'report'>(draft.allowlistMode === 'report' ? 'report' : 'enforce');
  const [owner, setOwner] = useState(draft.owner);
  const [meta, setMeta] = useState(draft.meta);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    everyApplication().then(
      (all) => setApplications(all.filter((application) => application.status === 'active')),
      (error) => setProblem(asProblem(error)),
    );
    everyArx().then(
      (all) => setArxList(all.filter((arx) => arx.status === 'active')),
      (error) => setProblem(asProblem(error)),
    );
  }, []);

  // Saved as each answer changes, before the screen is painted: a reload
  // right after a keystroke keeps it.
  useLayoutEffect(() => {
    if (created) return;
    const answers: Draft = { applicationId, arxId, permissions, roles, allowlist, allowlistMode, owner, meta, name, expiresOn };
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify(answers));
  }, [applicationId, arxId, permissions, roles, allowlist, allowlistMode, owner, meta, name, expiresOn, created]);

  // A step whose earlier answers are missing (an address typed or kept)
  // goes back to the first unanswered one; the review asks the API again.
  useEffect(() => {
    if (created) return;
    const at = STEPS.indexOf(step);
    if (at > STEPS.indexOf('application') && !applicationId) navigate(CREATE_PATHS.application, { replace: true });
    else if (at > STEPS.indexOf('arx') && !arxId) navigate(CREATE_PATHS.arx, { replace: true });
    else if (step === 'review' && !summary && !busy && !problem) void review();
    setProblem((shown) => (shown && STEP_FIELDS[shown.field ?? ''] === step ? shown : null));
  }, [step]);

  const request = (): NewApiKey => {
    const names = parsePermissions(permissions);
    const holder = parseOwner(owner);
    const data = parseMeta(meta);
    const addresses = parseAllowlist(allowlist, allowlistMode);
    return {
      application_id: applicationId,
      arx_id: arxId,
      name: name.trim() || null,
      expires_at: expiresOn ? endOfDayUtc(expiresOn) : null,
      // Checked when the access step was left; the API checks again.
      permissions: 'names' in names ? names.names : [],
      roles,
      allowlist: 'allowlist' in addresses ? addresses.allowlist : null,
      external_id: 'owner' in holder ? holder.owner : null,
      meta: 'meta' in data ? data.meta : null,
    };
  };

  /** Leaves the access step only with names and an owner the API would take. */
  function leaveAccess() {
    const names = parsePermissions(permissions);
    if ('problem' in names) return setProblem(names.problem);
    const holder = parseOwner(owner);
    if ('problem' in holder) return setProblem(holder.problem);
    const data = parseMeta(meta);
    if ('problem' in data) return setProblem(data.problem);
    const addresses = parseAllowlist(allowlist, allowlistMode);
    if ('problem' in addresses) return setProblem(addresses.problem);
    go('details');
  }

  function go(next: Step) {
    setProblem(null);
    if (next !== 'review') setSummary(null);
    navigate(CREATE_PATHS[next]);
  }

  /** A refusal that names a field goes back to the step that asks for it. */
  function refused(error: unknown) {
    const problem = asProblem(error);
    const back = problem.field ? STEP_FIELDS[problem.field] : undefined;
    if (back && back !== step) navigate(CREATE_PATHS[back]);
    setProblem(problem);
  }

  function missing(field: string, detail: string) {
    setProblem(new ApiProblem({ type: 'about:blank', title: 'Missing answer', status: 400, code: 'missing', detail, field }));
  }

  async function review() {
    setBusy(true);
    setProblem(null);
    try {
      // A dry run answers 200 with the summary (the OpenAPI union covers the 201 too).
      const answer = await ok(api.POST('/v1/api-keys', { params: { query: { dry_run: 'true' } }, body: request() }));
      setSummary(answer as Summary);
      if (step !== 'review') navigate(CREATE_PATHS.review);
    } catch (error) {
      refused(error);
    } finally {
      setBusy(false);
    }
  }

  async function create() {
    setBusy(true);
    setProblem(null);
    try {
      const key = (await ok(api.POST('/v1/api-keys', { body: request() }))) as CreatedApiKey;
      clearCreateDraft();
      setCreated(key);
    } catch (error) {
      refused(error);
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <AccessKeyScreen
        created={created}
        onDone={() => {
          flash({
            notice: `${created.api_key.name} was created for ${created.api_key.application_name} in ${created.api_key.arx_name}.`,
            highlight: created.api_key.id,
          });
          navigate('/api-keys', { replace: true });
        }}
      />
    );
  }

  const stepNumber = { application: 1, arx: 2, access: 3, details: 4, review: 5 }[step];
  return (
    <section aria-labelledby="create-title" class="narrow">
      <p class="step-count">Step {stepNumber} of 5</p>
      {step === 'application' && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (applicationId) go('arx');
            else missing('application_id', 'Select the application the key is for.');
          }}
          noValidate
        >
          <a href="/api-keys" class="back" onClick={onLinkClick}>
            Back to API keys
          </a>
          <ErrorSummary problem={problem} fields={{ application_id: firstOption('application', applications) }} />
          <fieldset>
            <legend>
              <h1 id="create-title">Which application is the key for?</h1>
            </legend>
            <FieldError problem={problem} field="application_id" id="application-error" />
            <Choices
              name="application"
              loading={applications === null}
              empty="There is no active application. An owner or admin can register one."
              options={(applications ?? []).map((application) => ({
                id: application.id,
                title: application.name,
                hint: `${capitalise(application.technology)} application`,
              }))}
              chosen={applicationId}
              invalid={isAbout(problem, 'application_id')}
              onChoose={setApplicationId}
            />
          </fieldset>
          <button type="submit">Continue</button>
        </form>
      )}
      {step === 'arx' && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (arxId) go('access');
            else missing('arx_id', 'Select the Arx the key is for.');
          }}
          noValidate
        >
          <BackButton onClick={() => go('application')} />
          <ErrorSummary problem={problem} fields={{ arx_id: firstOption('arx', arxList) }} />
          <fieldset>
            <legend>
              <h1 id="create-title">Which Arx is the key for?</h1>
            </legend>
            <p class="hint" id="arx-explained">
              An <strong>Arx</strong> is one environment the application calls: a place with its own purpose
              (development, testing, staging or production), cloud region and encryption. A key works for exactly one
              application in one Arx, so a development key never opens production.
            </p>
            <FieldError problem={problem} field="arx_id" id="arx-error" />
            <Choices
              name="arx"
              loading={arxList === null}
              empty="There is no active Arx. An owner or admin can create one."
              options={(arxList ?? []).map((arx) => ({
                id: arx.id,
                title: arx.name,
                hint: `${capitalise(arx.purpose)} · ${arx.provider} · ${arx.region}`,
              }))}
              chosen={arxId}
              invalid={isAbout(problem, 'arx_id')}
              onChoose={setArxId}
            />
          </fieldset>
          <button type="submit">Continue</button>
        </form>
      )}
      {step === 'access' && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            leaveAccess();
          }}
          noValidate
        >
          <BackButton onClick={() => go('arx')} />
          <ErrorSummary problem={problem} fields={ACCESS_FIELD_INPUTS} />
          <h1 id="create-title">What may the key do, and who holds it? (optional)</h1>
          <p class="hint">
            Your service can ask at each verify whether the key has a permission, and learns its owner. Leave both empty
            for a key that is simply good or not. Owners and admins can change them later.
          </p>
          <AccessFields
            permissions={permissions}
            roles={roles}
            allowlist={allowlist}
            allowlistMode={allowlistMode}
            owner={owner}
            meta={meta}
            problem={problem}
            onPermissions={setPermissions}
            onRoles={setRoles}
            onAllowlist={(text, mode) => {
              setAllowlist(text);
              setAllowlistMode(mode);
            }}
            onOwner={setOwner}
            onMeta={setMeta}
          />
          <button type="submit">Continue</button>
        </form>
      )}
      {step === 'details' && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            review();
          }}
          noValidate
        >
          <BackButton onClick={() => go('access')} />
          <ErrorSummary problem={problem} fields={{ name: 'key-name', expires_at: 'key-expiry' }} />
          <h1 id="create-title">Name the key (optional)</h1>
          <div class="field">
            <label for="key-name">Name</label>
            <p class="hint" id="key-name-hint">
              What uses it, so you know it again on the dashboard: “billing worker”.
            </p>
            <FieldError problem={problem} field="name" id="key-name-error" />
            <input
              id="key-name"
              maxLength={100}
              value={name}
              aria-describedby="key-name-hint"
              aria-invalid={isAbout(problem, 'name')}
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="key-expiry">Expires on (optional)</label>
            <p class="hint" id="key-expiry-hint">
              The key stops working at 23:59 UTC that day. Leave empty for a key that does not expire.
            </p>
            <FieldError problem={problem} field="expires_at" id="key-expiry-error" />
            <input
              id="key-expiry"
              type="date"
              value={expiresOn}
              aria-describedby="key-expiry-hint"
              aria-invalid={isAbout(problem, 'expires_at')}
              onInput={(event) => setExpiresOn(event.currentTarget.value)}
            />
          </div>
          <button type="submit" disabled={busy}>
            {busy ? 'Checking…' : 'Review'}
          </button>
        </form>
      )}
      {step === 'review' && summary && (
        <div>
          <BackButton onClick={() => go('details')} />
          <ErrorSummary problem={problem} />
          <h1 id="create-title">Check the key before you create it</h1>
          <dl class="summary">
            <SummaryRow term="Application" onChange={() => go('application')}>
              {summary.application.name} <span class="muted">({summary.application.technology})</span>
            </SummaryRow>
            <SummaryRow term="Arx" onChange={() => go('arx')}>
              {summary.arx.name}{' '}
              <span class="muted">
                ({summary.arx.purpose}, {summary.arx.provider} {summary.arx.region}, {summary.arx.encryption_method},
                rotated every {summary.arx.rotation_cycle}, {summary.arx.plan} plan)
              </span>
            </SummaryRow>
            <SummaryRow term="Permissions" onChange={() => go('access')}>
              <PermissionList names={summary.permissions ?? []} />
            </SummaryRow>
            <SummaryRow term="Roles" onChange={() => go('access')}>
              <PermissionList names={summary.roles ?? []} label="Roles" />
            </SummaryRow>
            <SummaryRow term="Addresses" onChange={() => go('access')}>
              <AllowlistText allowlist={summary.allowlist} />
            </SummaryRow>
            <SummaryRow term="Owner" onChange={() => go('access')}>
              {summary.external_id ?? <span class="muted">None</span>}
            </SummaryRow>
            <SummaryRow term="Meta" onChange={() => go('access')}>
              <MetaRows meta={summary.meta} />
            </SummaryRow>
            <SummaryRow term="Name" onChange={() => go('details')}>
              {summary.name}
            </SummaryRow>
            <SummaryRow term="Expires" onChange={() => go('details')}>
              {summary.expires_at ? formatTime(summary.expires_at) : 'Never'}
            </SummaryRow>
          </dl>
          <p>This creates {summary.will_create}.</p>
          <div class="buttons">
            <button type="button" onClick={create} disabled={busy}>
              {busy ? 'Creating…' : 'Create API key'}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function firstOption(name: string, list: unknown[] | null): string {
  return list && list.length > 0 ? `${name}-0` : '';
}

function BackButton({ onClick }: { onClick: () => void }) {
  return (
    <button type="button" class="link back" onClick={onClick}>
      Back
    </button>
  );
}

function Choices({
  name,
  loading,
  empty,
  options,
  chosen,
  invalid,
  onChoose,
}: {
  name: string;
  loading: boolean;
  empty: string;
  options: { id: string; title: string; hint: string }[];
  chosen: string;
  invalid: boolean;
  onChoose: (id: string) => void;
}) {
  if (loading) return <p>Loading…</p>;
  if (options.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div class="choices">
      {options.map((option, index) => (
        <div class="choice" key={option.id}>
          <input
            type="radio"
            id={`${name}-${index}`}
            name={name}
            value={option.id}
            checked={chosen === option.id}
            aria-invalid={invalid}
            aria-describedby={`${name}-${index}-hint`}
            onChange={() => onChoose(option.id)}
          />
          <label for={`${name}-${index}`}>{option.title}</label>
          <p class="hint" id={`${name}-${index}-hint`}>
            {option.hint}
          </p>
        </div>
      ))}
    </div>
  );
}

function SummaryRow({ term, onChange, children }: { term: string; onChange: () => void; children: preact.ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
      <dd class="change">
        <button type="button" class="link" onClick={onChange}>
          Change<span class="visually-hidden"> {term.toLowerCase()}</span>
        </button>
      </dd>
    </div>
  );
}
