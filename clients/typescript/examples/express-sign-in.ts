// A sign-in form whose attempts are limited per client address: the
// `sign-in` namespace (say 5 per minute) counts each POST, and the 6th in a
// minute is answered 429 with Retry-After and the RateLimit headers, before
// any password is looked at.
import express from 'express';
import { Client } from '@api-keys-manager/client';
import { rateLimit } from '@api-keys-manager/client/express';

const limits = new Client(process.env.API_URL!, { serviceKey: process.env.SERVICE_KEY! });
export const app = express();
// One proxy you run in front (a load balancer): Express then reads the
// client's address from the X-Forwarded-For entry that proxy appended.
app.set('trust proxy', 1);
app.post(
  '/sign-in',
  express.urlencoded({ extended: false }),
  rateLimit(limits, { namespace: 'sign-in', identify: (request) => request.ip }),
  (request, response) => {
    const { user, password } = request.body as { user?: string; password?: string };
    const signedIn = user === 'demo' && password === 'correct horse';
    response.status(signedIn ? 200 : 401).json({ signed_in: signedIn });
  },
);
