// Sign in: Cognito's managed login on AWS; on the dev server a clearly marked
// local sign-in per demo role.

import { useState } from 'preact/hooks';
import {
  refreshSession,
  ROLE_NAMES,
  signInLocally,
  signInWithCognito,
  type Role,
  type SignInConfig,
} from '../session';

export function SignIn({
  config,
  expired = false,
  problem: initialProblem = null,
}: {
  config: SignInConfig;
  expired?: boolean;
  problem?: string | null;
}) {
  const [problem, setProblem] = useState<string | null>(initialProblem);
  const [busy, setBusy] = useState(false);

  async function attempt(signIn: () => Promise<void>) {
    setProblem(null);
    setBusy(true);
    try {
      await signIn();
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      {expired ? (
        <p id="sign-in-title">Sign in again to carry on. What you typed on this page is kept.</p>
      ) : (
        <h1 id="sign-in-title">Sign in to the API Keys manager</h1>
      )}
      {problem && (
        <div class="error-summary" role="alert">
          <h2>There is a problem</h2>
          <p>{problem}</p>
        </div>
      )}
      {config === null && <p>This server offers no sign-in for the console.</p>}
      {config?.kind === 'cognito' && (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            attempt(async () => {
              // After an expiry, a refresh keeps the page; otherwise the managed login.
              if (!(expired && (await refreshSession()))) await signInWithCognito(config);
            })
          }
        >
          {expired ? 'Sign in again' : 'Sign in'}
        </button>
      )}
      {config?.kind === 'local' && (
        <>
          <p class="local-banner" role="note">
            <strong>Local sign-in.</strong> This dev server signs you in as a demo user of tenant{' '}
            <code>{config.tenant}</code>. A reload keeps you signed in until this tab closes. An AWS deployment signs in
            through Cognito instead.
          </p>
          <div class="role-choices">
            {config.roles.map((role: Role) => (
              <button type="button" key={role} disabled={busy} onClick={() => attempt(() => signInLocally(role))}>
                Sign in as {ROLE_NAMES[role].toLowerCase()}
              </button>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
