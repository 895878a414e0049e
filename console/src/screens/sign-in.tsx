// Sign in. On the dev server: a clearly marked local sign-in per demo role.

import { useEffect, useState } from 'preact/hooks';
import { ROLE_NAMES, signInConfig, signInLocally, type Role, type SignInConfig } from '../session';

export function SignIn({ expired = false }: { expired?: boolean }) {
  const [config, setConfig] = useState<SignInConfig | undefined>(undefined);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    signInConfig().then(setConfig, (error: Error) => setProblem(error.message));
  }, []);

  async function signIn(role: Role) {
    setProblem(null);
    try {
      await signInLocally(role);
    } catch (error) {
      setProblem((error as Error).message);
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
      {config === undefined && !problem && <p>Loading…</p>}
      {config === null && <p>This server offers no sign-in for the console.</p>}
      {config?.kind === 'local' && (
        <>
          <p class="local-banner" role="note">
            <strong>Local sign-in.</strong> This dev server signs you in as a demo user of tenant{' '}
            <code>{config.tenant}</code>. An AWS deployment signs in through Cognito instead.
          </p>
          <div class="role-choices">
            {config.roles.map((role) => (
              <button type="button" key={role} onClick={() => signIn(role)}>
                Sign in as {ROLE_NAMES[role].toLowerCase()}
              </button>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
