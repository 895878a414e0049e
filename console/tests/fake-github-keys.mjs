// A stand-in for GitHub's published secret scanning keys, for the console's
// leak test: a P-256 key made at start, its public half served in GitHub's
// document shape, its private half written to a file the test signs with
// (as GitHub signs its reports).
//
// node tests/fake-github-keys.mjs PORT PRIVATE_KEY_FILE

import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, privateKeyFile] = process.argv.slice(2);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
writeFileSync(privateKeyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
const document = JSON.stringify({
  public_keys: [
    { key_identifier: 'console-test-key', key: publicKey.export({ format: 'pem', type: 'spki' }), is_current: true },
  ],
});

createServer((request, response) => {
  const body = request.url === '/health' ? 'ok' : document;
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(body);
}).listen(Number(port), '127.0.0.1');
