// A Hono service whose /documents route needs a good API key.
import { Hono } from 'hono';
import { Client } from '@api-keys-manager/client';
import { requireKey } from '@api-keys-manager/client/hono';

const keys = new Client(process.env.API_URL!, { serviceKey: process.env.SERVICE_KEY! });
export const app = new Hono();
app.get('/documents', requireKey(keys), (c) => {
  const verdict = c.get('verdict');
  return c.json({ application: verdict.valid ? verdict.application_id : null });
});
