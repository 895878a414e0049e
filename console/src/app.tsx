// The console's frame: sign-in, the header and its navigation, the screen for
// the path, the feedback button, and the "session ended" sign-in that keeps
// the page (and what was typed on it) underneath.

import { useEffect, useState } from 'preact/hooks';
import { Dialog } from './components/dialog';
import { FeedbackButton } from './components/feedback';
import { navigate, onLinkClick, usePath } from './router';
import { ApiKeys } from './screens/api-keys';
import { Applications } from './screens/applications';
import { ArxDashboard } from './screens/arx';
import { AuditLog } from './screens/audit';
import { CREATE_PATHS, CreateKey } from './screens/create-key';
import { Identities } from './screens/identities';
import { IdentityPage } from './screens/identity';
import { ImportKeys } from './screens/import-keys';
import { KeyPage } from './screens/key';
import { KeyRoles } from './screens/key-roles';
import { RateLimitPage } from './screens/rate-limit';
import { RateLimits } from './screens/rate-limits';
import { ServiceKeys } from './screens/service-keys';
import { SignIn } from './screens/sign-in';
import { UsageOverview } from './screens/usage';
import { managesCatalog, ROLE_NAMES, signOut, useSession, type ConsoleConfig, type Session } from './session';

const NAVIGATION: [string, string][] = [
  ['/api-keys', 'API keys'],
  ['/identities', 'Identities'],
  ['/roles', 'Key roles'],
  ['/rate-limits', 'Rate limits'],
  ['/applications', 'Applications'],
  ['/arx', 'Arx'],
  ['/usage', 'Usage'],
];

export function App({ config, problem }: { config: ConsoleConfig; problem: string | null }) {
  const session = useSession();
  const path = usePath();
  useEffect(() => {
    if (path === '/') navigate('/api-keys', { replace: true });
  }, [path]);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to main content
      </a>
      <Header session={session} path={path} />
      <main id="main" tabIndex={-1} class={session ? 'with-feedback' : undefined}>
        {session ? <Screen path={path} session={session} /> : <SignIn config={config.sign_in} problem={problem} />}
      </main>
      {session && <FeedbackButton />}
      {session?.expired && (
        <Dialog title="Your session has ended" onClose={signOut}>
          <SignIn config={config.sign_in} expired />
        </Dialog>
      )}
    </>
  );
}

function Screen({ path, session }: { path: string; session: Session }) {
  switch (path) {
    case '/':
    case '/api-keys':
      return <ApiKeys session={session} />;
    case CREATE_PATHS.application:
    case CREATE_PATHS.arx:
    case CREATE_PATHS.access:
    case CREATE_PATHS.details:
    case CREATE_PATHS.review:
      return <CreateKey path={path} />;
    case '/api-keys/import':
      // Owners and admins only, like the API.
      if (managesCatalog(session.role)) return <ImportKeys />;
      return <NotFound />;
    case '/applications':
      return <Applications session={session} />;
    case '/arx':
      return <ArxDashboard session={session} />;
    case '/usage':
      return <UsageOverview />;
    case '/identities':
      return <Identities session={session} />;
    case '/roles':
      return <KeyRoles session={session} />;
    case '/rate-limits':
      return <RateLimits session={session} />;
    case '/audit':
      // The API refuses a developer too (403); the console does not offer it.
      if (managesCatalog(session.role)) return <AuditLog />;
      return <NotFound />;
    case '/service-keys':
      // Owners and admins only, like the API.
      if (managesCatalog(session.role)) return <ServiceKeys />;
      return <NotFound />;
    default: {
      const key = /^\/api-keys\/(apikey--[0-9a-f]{32})$/.exec(path);
      if (key?.[1]) return <KeyPage key={key[1]} id={key[1]} session={session} />;
      const identity = /^\/identities\/(identity--[0-9a-f]{32})$/.exec(path);
      if (identity?.[1]) return <IdentityPage key={identity[1]} id={identity[1]} session={session} />;
      const namespace = /^\/rate-limits\/(rlns--[0-9a-f]{32})$/.exec(path);
      if (namespace?.[1]) return <RateLimitPage key={namespace[1]} id={namespace[1]} session={session} />;
      return <NotFound />;
    }
  }
}

function NotFound() {
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>
        There is nothing at this address. Go to the{' '}
        <a href="/api-keys" onClick={onLinkClick}>
          API key dashboard
        </a>
        .
      </p>
    </section>
  );
}

function Header({ session, path }: { session: Session | null; path: string }) {
  // On a phone the pages sit behind one Menu button (the header stays one
  // line); a wider screen shows them all and never the button.
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [path]);
  const who = session && `${session.user} · ${ROLE_NAMES[session.role]}`;
  return (
    <header class="site-header">
      <a class="brand" href="/api-keys" onClick={onLinkClick}>
        API Keys manager
      </a>
      {session && (
        <>
          <button
            type="button"
            class="secondary small menu-toggle"
            aria-expanded={open}
            aria-controls="main-nav"
            onClick={() => setOpen(!open)}
          >
            Menu
          </button>
          <nav id="main-nav" aria-label="Main" class={open ? 'open' : undefined}>
            {NAVIGATION.concat(
              managesCatalog(session.role)
                ? [
                    ['/service-keys', 'Service keys'],
                    ['/audit', 'Audit log'],
                  ]
                : [],
            ).map(([href, label]) => (
              <a
                key={href}
                href={href}
                onClick={onLinkClick}
                aria-current={
                  path === href || (href !== '/' && path.startsWith(`${href}/`)) ? 'page' : undefined
                }
              >
                {label}
              </a>
            ))}
            <span class="who-in-menu">Signed in as {who}</span>
          </nav>
          <div class="who">
            <span class="who-text">{who}</span>
            <button type="button" class="secondary small" onClick={signOut}>
              Sign out
            </button>
          </div>
        </>
      )}
    </header>
  );
}
