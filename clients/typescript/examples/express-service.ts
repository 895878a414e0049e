// An Express service whose /documents route needs a good API key, and whose
// /reports route a key with the `reports.read` permission.
import express from 'express';
import { Client } from '@api-keys-manager/client';
import { requireKey } from '@api-keys-manager/client/express';

const keys = new Client(process.env.API_URL!, { serviceKey: process.env.SERVICE_KEY! });
export const app = express();
app.get('/documents', requireKey(keys), (_request, response) => {
  response.json({ application: response.locals.verdict.application_id });
});
app.get('/reports', requireKey(keys, { permissions: 'reports.read' }), (_request, response) => {
  const { external_id, permissions } = response.locals.verdict;
  response.json({ owner: external_id, permissions });
});
