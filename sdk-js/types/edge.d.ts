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
  /** signs offer tokens and session cookies (>= 16 bytes) */
  tokenSecret: FromEnv<string | Bytes>;
  /** without kv the session state travels in the signed cookie (compact state, checked to fit at the first request) */
  kv?: FromEnv<KVLike>;
  /** no collector (or no url, e.g. an unset env.COLLECTOR_URL): decisions are not sent anywhere;
   *  `events: true` also sends the tracked events (by the session's user key), which retraining needs */
  collector?: FromEnv<CollectorOptions | undefined | null>;
  /** the store's own shopper id for this request (e.g. from its login cookie): sent as user_id with each decision */
  userId?: (request: Request, env?: any) => string | undefined | null | Promise<string | undefined | null>;
  /** fleet sync: a request starts a pull when one is due (ctx.waitUntil), never waiting for it; `auto` is ignored */
  sync?: FromEnv<SyncOptions | undefined | null>;
  /** A/B holdout by the session's user key */
  holdout?: FromEnv<HoldoutOptions | undefined>;
  seed?: bigint | number | string;
  mode?: Mode;
  policyVersion?: string;
  cookieName?: string;
  sessionTtlS?: number;
  crypto?: Crypto;
  now?: () => number;
}

export interface EdgeHandler {
  /** GET|POST /offer, GET|POST /recommend, POST /rank {itemIds, exclude?}, POST /track, POST /shown, POST /report */
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
