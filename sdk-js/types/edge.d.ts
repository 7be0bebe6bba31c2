import type { Bytes, CollectorOptions, Engine, FlushResult, HoldoutOptions, Mode, PublicKeyInput, SyncOptions, SyncResult, WasmInput } from './index.js';

type FromEnv<T> = T | ((env: any) => T | Promise<T>);

/** Cloudflare-KV-like store for session state. */
export interface KVLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

export interface EdgeOptions {
  wasm?: FromEnv<WasmInput>;
  engine?: Engine;
  bundle: FromEnv<Bytes>;
  publicKey?: FromEnv<PublicKeyInput>;
  unsafeSkipVerify?: boolean;
  /** signs offer tokens; the session cookies' AES-GCM key and the default user-key salt are derived from it (HKDF) (>= 16 bytes) */
  tokenSecret: FromEnv<string | Bytes>;
  /** without kv the session state travels in the encrypted cookie (compact state, checked to fit at the first request) */
  kv?: FromEnv<KVLike>;
  /** no collector (or no url, e.g. an unset env.COLLECTOR_URL): decisions are not sent anywhere;
   *  `events: true` also sends the tracked events (by the session's user key), which retraining needs */
  collector?: FromEnv<CollectorOptions | undefined | null>;
  /** the store's own shopper id for this request (e.g. from its login cookie): sent as user_id with each decision; a new session's user key is its keyed hash (userKeyOf) */
  userId?: (request: Request, env?: any) => string | undefined | null | Promise<string | undefined | null>;
  /** fleet sync: a request starts a pull when one is due (ctx.waitUntil), never waiting for it; `auto` is ignored */
  sync?: FromEnv<SyncOptions | undefined | null>;
  /** A/B holdout by the session's user key */
  holdout?: FromEnv<HoldoutOptions | undefined>;
  seed?: bigint | number | string;
  mode?: Mode;
  policyVersion?: string;
  /** salt of the user keys of userId (>= 16 bytes; default: derived from tokenSecret) */
  userKeySalt?: FromEnv<string | Bytes | undefined>;
  cookieName?: string;
  /** session lifetime (default 30 days): the cookie's Max-Age, the KV entry's TTL, and the age beyond which a cookie sealed that long ago is refused */
  sessionTtlS?: number;
  crypto?: Crypto;
  now?: () => number;
}

export interface EdgeHandler {
  /** GET|POST /offer, POST /offer-cart {cart: [{itemId, quantity}]}, GET|POST /recommend, POST /rank {itemIds, exclude?}, POST /track, POST /shown, POST /report */
  fetch(request: Request, env?: any, ctx?: { waitUntil(p: Promise<unknown>): void }): Promise<Response>;
  info(env?: any): Promise<Record<string, unknown>>;
  /** one fleet sync now (needs the sync option) */
  sync(env?: any): Promise<SyncResult>;
  /** sends the queued records now (ok without a collector) */
  flush(env?: any): Promise<FlushResult>;
  /** stops fleet sync and the transport's timers (call flush() first) */
  close(): Promise<void>;
}

export declare function createEdgeHandler(options: EdgeOptions): EdgeHandler;
