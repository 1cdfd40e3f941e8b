import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
const app = new Hono();
app.get('/', c => c.text('hi'));
export const l = getRequestListener(app.fetch);
