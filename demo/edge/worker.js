// disco at the edge: a CDN-worker module (the `export default { fetch(request, env, ctx) }` shape of
// Cloudflare Workers and compatible runtimes) answering /offer, /offer-cart and /recommend (plus
// /track, /shown, /report) with the SDK's edge adapter. Decisions and their HMAC-signed offer tokens are made here,
// next to the shopper, where the token secret stays out of the browser; the checkout verifies the
// tokens (POST /v1/checkout of the collector, or verifyOfferToken in Node).
//
// Bindings (env):
//   DISCO_WASM          { simd, plain } WebAssembly.Modules (in a worker: `import simd from './disco-simd.wasm'`)
//   DISCO_BUNDLE        the signed bundle bytes (ArrayBuffer), or DISCO_BUNDLES: a KV namespace holding "current"
//   DISCO_PUBLIC_KEY    the bundle signer's ECDSA P-256 public key (SPKI, base64 or PEM)
//   DISCO_TOKEN_SECRET  HMAC secret for offer tokens and session cookies (the collector's site secret
//                       when its /v1/checkout verifies the tokens)
//   DISCO_SESSIONS      optional KV namespace for shopper state (else it travels in a signed cookie)
//   DISCO_COLLECTOR_URL, DISCO_SITE_KEY, DISCO_SITE_SECRET   optional: batches to the collector
//   DISCO_ORIGIN        optional: the shop's origin server; every other path is passed to it, as a
//                       CDN worker in front of a site does (demo/serve.sh: the collector serving the
//                       storefront, its bundle and its checkout)
//
// In a real worker import '@disco/sdk/edge' and bundle it (esbuild/wrangler); this file imports the
// SDK from the repository so that demo/edge/run.mjs runs it as is under Node.
import { createEdgeHandler } from '../../sdk-js/src/edge.js';

const disco = createEdgeHandler({
  wasm: (env) => env.DISCO_WASM,
  bundle: async (env) => (env.DISCO_BUNDLES ? env.DISCO_BUNDLES.get('current', 'arrayBuffer') : env.DISCO_BUNDLE),
  publicKey: (env) => env.DISCO_PUBLIC_KEY,
  tokenSecret: (env) => env.DISCO_TOKEN_SECRET,
  kv: (env) => env.DISCO_SESSIONS ?? null,
  collector: (env) => (env.DISCO_COLLECTOR_URL
    ? { url: env.DISCO_COLLECTOR_URL, keyId: env.DISCO_SITE_KEY, key: env.DISCO_SITE_SECRET }
    : null),
});

const ROUTES = new Set(['/offer', '/offer-cart', '/recommend', '/track', '/shown', '/report']);
const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

/** The request as the origin gets it (same method, path, query, headers and body). */
async function toOrigin(request, origin) {
  const u = new URL(request.url);
  const headers = [...request.headers].filter(([k]) => !HOP.has(k));
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
  return fetch(new URL(u.pathname + u.search, origin), { method: request.method, headers, body, redirect: 'manual' });
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/report') {
      // the outcome is delivered before the answer says so (the page tells the shopper)
      const res = await disco.fetch(request, env, ctx);
      if (!res.ok) return res;
      const delivered = (await disco.flush(env)).ok;
      return Response.json({ ...(await res.json()), delivered }, { headers: { 'cache-control': 'no-store' } });
    }
    if (ROUTES.has(pathname)) return disco.fetch(request, env, ctx);
    if (pathname === '/health') {
      try {
        return Response.json({ ok: true, ...(await disco.info(env)) }, { headers: { 'cache-control': 'no-store' } });
      } catch (e) {
        return Response.json({ ok: false, error: { code: e.code ?? 'INTERNAL', message: e.message } }, { status: 503 });
      }
    }
    if (env.DISCO_ORIGIN) return toOrigin(request, env.DISCO_ORIGIN);
    return Response.json({ error: { code: 'NOT_FOUND', message: `no route ${pathname}: try /offer?item=ID or /recommend?k=5` } }, { status: 404 });
  },
};
