import { render } from 'preact';
import { configureApi } from './api/client';
import { App } from './app';
import { completeSignIn, loadConfig, restoreLocalSession, shouldSignInSilently, signInWithCognito } from './session';
import './styles.css';

const root = document.getElementById('app')!;

async function start() {
  const config = await loadConfig();
  configureApi(config.api_url ?? '');
  let problem: string | null = null;
  const sign = config.sign_in;
  restoreLocalSession();
  if (sign?.kind === 'cognito') {
    try {
      const returned = await completeSignIn(sign);
      if (!returned && shouldSignInSilently()) {
        await signInWithCognito(sign);
        return;
      }
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  render(<App config={config} problem={problem} />, root);
}

start().catch((error: Error) => {
  render(
    <main id="main">
      <h1>The console could not start</h1>
      <p role="alert">{error.message} Reload the page to try again.</p>
    </main>,
    root,
  );
});
