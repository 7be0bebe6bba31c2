#!/usr/bin/env node
// Serves demo/edge/worker.js locally under Node, with the bindings a CDN would provide.
//   node demo/edge/run.mjs --bundle FILE --public-key FILE [--port 8787] [--host 127.0.0.1]
//        [--token-secret S] [--collector URL --site-key K --site-secret S] [--origin URL]
//   --origin URL: every path but the worker's routes goes to that server (demo/serve.sh puts the
//   worker in front of the collector that serves the storefront, as a CDN worker fronts a site)
// Then: curl 'http://127.0.0.1:8787/recommend?k=5'
//       curl -X POST http://127.0.0.1:8787/offer -d '{"item":"i42","events":[{"type":"view","itemId":"i42"}]}'
import { randomBytes, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { isMain, parseCli, usageError } from '../../lib/cli.mjs';
import worker from './worker.js';

// Worker runtimes provide a global WebCrypto; Node 18 does not (Node >= 19 does).
if (!globalThis.crypto) globalThis.crypto = webcrypto;

const dist = new URL('../../sdk-js/dist/', import.meta.url);

/** The worker's env from files: compiled wasm, bundle bytes, key, secrets. */
export async function makeEnv({ bundle, publicKey, tokenSecret, collector, siteKey, siteSecret, origin }) {
  const [simd, plain] = await Promise.all(['disco-simd.wasm', 'disco.wasm'].map((f) => WebAssembly.compile(readFileSync(new URL(f, dist)))));
  const key = readFileSync(publicKey);
  const text = key.toString('latin1');
  return {
    DISCO_WASM: { simd, plain },
    DISCO_BUNDLE: new Uint8Array(readFileSync(bundle)),
    DISCO_PUBLIC_KEY: text.includes('BEGIN PUBLIC KEY') ? text : key.toString('base64'),
    DISCO_TOKEN_SECRET: tokenSecret,
    ...(collector ? { DISCO_COLLECTOR_URL: collector, DISCO_SITE_KEY: siteKey, DISCO_SITE_SECRET: siteSecret } : {}),
    ...(origin ? { DISCO_ORIGIN: origin } : {}),
  };
}

/**
 * Starts an HTTP server that hands each request to worker.fetch; resolves { url, close }. Like an
 * isolate, a worker module initializes once: pass another module instance (`module`) for another env.
 */
export function serveWorker(env, { port = 8787, host = '127.0.0.1', module = worker } = {}) {
  const pending = new Set();
  const ctx = { waitUntil: (p) => { const q = Promise.resolve(p).catch(() => {}); pending.add(q); q.finally(() => pending.delete(q)); } };
  const server = createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const request = new Request(`http://${req.headers.host ?? host}${req.url}`, {
        method: req.method, headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      const response = await module.fetch(request, env, ctx);
      const headers = {};
      // the body is sent whole, as read (fetch already decoded a proxied one)
      response.headers.forEach((v, k) => { if (!['set-cookie', 'content-encoding', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v; });
      // Headers.getSetCookie is Node >= 19.7; on Node 18 there is one Set-Cookie per response here.
      const cookies = response.headers.getSetCookie?.()
        ?? (response.headers.has('set-cookie') ? [response.headers.get('set-cookie')] : []);
      if (cookies.length) headers['set-cookie'] = cookies;
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'INTERNAL', message: e.message } }));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({
        url: `http://${host}:${a.port}`,
        close: async () => { const closed = new Promise((r) => server.close(r)); server.closeIdleConnections?.(); await closed; await Promise.all(pending); },
      });
    });
  });
}

if (isMain(import.meta.url)) {
  const usage = 'usage: node demo/edge/run.mjs --bundle FILE --public-key FILE [--port 8787] [--host 127.0.0.1] [--token-secret S] [--collector URL --site-key K --site-secret S] [--origin URL]';
  const flags = ['bundle', 'public-key', 'port', 'host', 'token-secret', 'collector', 'site-key', 'site-secret', 'origin'];
  const o = parseCli({ name: 'edge/run', usage, options: Object.fromEntries(flags.map((k) => [k, { type: 'string' }])) }).values;
  if (!o.bundle || !o['public-key']) usageError('edge/run', usage, '--bundle and --public-key are required');
  const tokenSecret = o['token-secret'] ?? randomBytes(24).toString('hex');
  const env = await makeEnv({ bundle: o.bundle, publicKey: o['public-key'], tokenSecret, collector: o.collector, siteKey: o['site-key'], siteSecret: o['site-secret'], origin: o.origin });
  const s = await serveWorker(env, { port: Number(o.port ?? 8787), host: o.host ?? '127.0.0.1' });
  const info = await (await fetch(`${s.url}/health`)).json();
  if (!info.ok && !o.origin) { console.error(`edge worker cannot start: ${info.error.code}: ${info.error.message}`); await s.close(); process.exit(1); }
  // in front of an origin the site keeps working without disco (its pages say so): serve anyway
  if (!info.ok) console.error(`edge worker: disco is off (${info.error.code}: ${info.error.message}); passing everything else to ${o.origin}`);
  console.log(`edge worker on ${s.url}  (${info.ok ? `model ${info.modelVersion}, ${info.nItems} items${info.simd ? ', SIMD' : ''}` : 'disco off'}${o.origin ? `; origin ${o.origin}` : ''})`);
  console.log(`  ${s.url}/recommend?k=5     POST ${s.url}/offer {"item": ID, "events": [...]}`);
  if (!o['token-secret']) console.log('  offer tokens are signed with a random per-run secret (pass --token-secret to verify them elsewhere)');
  const stop = async () => { await s.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
