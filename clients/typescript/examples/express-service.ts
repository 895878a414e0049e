// An Express service whose /documents route needs a good API key.
import express from 'express';
import { Client } from '@api-keys-manager/client';
import { requireKey } from '@api-keys-manager/client/express';

const keys = new Client(process.env.API_URL!, { serviceKey: process.env.SERVICE_KEY! });
export const app = express();
app.get('/documents', requireKey(keys), (_request, response) => {
  response.json({ application: response.locals.verdict.application_id });
});
