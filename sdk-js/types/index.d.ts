// @disco/sdk: hand-written types. tests/sdk/types.test.mjs checks that every value declared here is
// exported by the module and vice versa.
import type { Transport, TransportOptions, FlushResult } from './transport.js';
export { Transport, TransportOptions, FlushResult, WriteKeyTransport, WriteKeyTransportOptions } from './transport.js';
export { signOfferToken, OfferClaims, CartOfferClaims, CartLine } from './token.js';
import type { CartLine } from './token.js';

export type Bytes = ArrayBuffer | Uint8Array;
export type WasmSource = WebAssembly.Module | Bytes | Response | URL | string;
/** Both builds (SIMD128 chosen when the engine supports it), or a single one. */
export type WasmInput = WasmSource | { simd?: WasmSource; plain?: WasmSource } | Promise<WasmSource | { simd?: WasmSource; plain?: WasmSource }>;
/** One key, or a list during a key rotation (the one whose id is the bundle's key_id verifies it). */
export type PublicKeyInput = Bytes | string | CryptoKey | Array<Bytes | string | CryptoKey>;
export type Mode = 'online' | 'apprentice' | 'logging';
export type EventType = 'view' | 'click' | 'cart' | 'remove' | 'purchase';
export type ErrorCode =
  | 'INVALID_ARGUMENT' | 'BUNDLE_FORMAT' | 'CHECKSUM' | 'SIGNATURE' | 'UNSIGNED' | 'VERSION' | 'SHAPE'
  | 'UNKNOWN_ITEM' | 'STATE' | 'BUFFER_TOO_SMALL' | 'NOT_FOUND' | 'DUPLICATE' | 'UNSUPPORTED'
  | 'OUT_OF_MEMORY' | 'INTERNAL' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_SCOPE' | 'TOKEN_CART_MISMATCH' | 'TOKEN_MIN_SPEND' | 'NETWORK' | 'REJECTED' | 'DROPPED' | 'STORAGE';

/** A/B holdout: a stable share of shoppers (by user key) always gets the baseline arm, logged with holdout: true. */
export interface HoldoutOptions {
  /** fraction of shoppers in the holdout, 0..1 (e.g. 0.1) */
  share: number;
  /** the site's baseline arm: index or name in the bundle's arms (default 0, no discount); not a fixed-amount arm */
  arm?: number | string;
  /** reshuffles who is in the holdout (default "disco-holdout"); keep it fixed for one experiment */
  salt?: string;
}

/** Fleet sync: pulls GET /v1/bandit-state (FlatBuffers, into the runtime's import) and GET /v1/bundle (verified, hot-swapped), ETag/304. */
export interface SyncOptions {
  /** the collector's base URL (e.g. http://127.0.0.1:8787); default: collector.url without /v1/events */
  url?: string;
  /** between pulls (default 60000; at least 100) */
  everyMs?: number;
  /** sent as x-disco-key; default collector.keyId, else the first 16 hex chars of SHA-256(collector.key) */
  keyId?: string;
  /** pull the fleet statistics (default true) / the served bundle (default true) */
  stats?: boolean;
  bundle?: boolean;
  /** Disco: pull in the background from create() on (default true); false = only on sync() */
  auto?: boolean;
  /** capped exponential backoff with jitter after failures (defaults 1000 and 300000 ms) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** per request (default 10000 ms) */
  timeoutMs?: number;
  onSync?: (result: SyncResult) => void;
  /** every failed pull (NETWORK, REJECTED, SIGNATURE, STATE ...); without it the first one is logged once */
  onError?: (error: DiscoError & { retryInMs?: number }) => void;
  fetch?: typeof fetch;
}
export interface SyncResult {
  /** swapped = a new verified bundle runs now; none = the collector serves no bundle */
  bundle: 'swapped' | 'unchanged' | 'none' | 'off';
  /** imported = the fleet statistics replaced this runtime's observed ones */
  stats: 'imported' | 'unchanged' | 'off';
  /** the collector's statistics version */
  version: number | null;
  /** body bytes received (0 when both answers were 304) */
  bytes: number;
  ms: number;
}

/** Collector transport options as Disco and createEdgeHandler take them: no url = no collector. */
export type CollectorOptions = Omit<TransportOptions, 'crypto' | 'storage' | 'url' | 'key'> & {
  /** the site secret (servers, edge workers): signs every batch; refused in a page */
  key?: string | Uint8Array;
  /** a page: the site's public write key instead (WriteKeyTransport; nothing signed) */
  writeKey?: string;
  /** POST endpoint, e.g. http://127.0.0.1:8787/v1/events; absent or empty: no collector */
  url?: string;
  /** also send tracked events (needed for retraining from the collector's export) */
  events?: boolean;
  storage?: StorageLike;
};

/** Storage for the offline queue: window.localStorage or anything with the same three methods. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem?(key: string): void;
}

export declare class DiscoError extends Error {
  readonly name: 'DiscoError';
  readonly code: ErrorCode;
  /** disco_status number when the error came from disco.wasm */
  readonly status?: number;
}

export interface DiscoOptions {
  /** disco.wasm builds; @disco/sdk/node defaults to the packaged files */
  wasm?: WasmInput;
  /** share one instantiated module between several Disco objects */
  engine?: Engine;
  /** the signed bundle file's bytes */
  bundle: Bytes | Response | Promise<Bytes | Response>;
  /** ECDSA P-256 public key (SPKI DER bytes, base64, PEM, or a CryptoKey) the bundle must verify against */
  publicKey?: PublicKeyInput;
  /** skip the signature check: tests and benchmarks only */
  unsafeSkipVerify?: boolean;
  /** decision randomness seed (64-bit); random when absent */
  seed?: bigint | number | string;
  /** hashed shopper key (64-bit), e.g. userKeyOf(id, secret salt) computed by your server ... */
  userKey?: bigint | number | string;
  /** ... or a shopper id (also sent as user_id), hashed into the user key with userKeySalt (userKeyOf) */
  userId?: string;
  /** the site's salt (>= 16 bytes) for userId: required with it; in a page it is readable, so not secret-grade (README, "User keys") */
  userKeySalt?: string | Bytes | CryptoKey;
  sessionId?: string;
  mode?: Mode;
  policyVersion?: string;
  maxPendingDecisions?: number;
  /** HMAC secret: offer() then returns a signed token (server-side use only: refused in a page) */
  tokenSecret?: string | Bytes | CryptoKey;
  /** collector transport: a page gives `writeKey` (a `key` is refused there), a server `key`; `events: true` also sends tracked events (off by default); no url = no collector */
  collector?: CollectorOptions;
  /** A/B holdout (see HoldoutOptions) */
  holdout?: HoldoutOptions;
  /** fleet sync with the collector (see SyncOptions) */
  sync?: SyncOptions;
  storage?: StorageLike;
  transport?: Transport;
  /** WebCrypto implementation (default: globalThis.crypto) */
  crypto?: Crypto;
  now?: () => number;
}

export interface TrackEvent {
  type?: EventType | 0 | 1 | 2 | 3 | 4;
  itemId: string | number;
  /** shown/paid price; 0 or absent = catalog price */
  price?: number;
  quantity?: number;
  /** ms since the epoch (default: now) */
  ts?: number;
}

export interface RecommendOptions {
  k?: number;
  /** item ids to leave out (unknown ids are ignored) */
  exclude?: Array<string | number>;
  excludeSeen?: boolean;
  includeOutOfStock?: boolean;
  /** -1 = any */
  category?: number;
}
export interface Recommendation { itemId: string; score: number; }
export type RankOptions = Omit<RecommendOptions, 'k'>;
/** score null: an id the bundle does not know (kept at the end, in input order) */
export interface RankedItem { itemId: string; score: number | null; }

export type GuardrailName = 'max_discount' | 'margin_floor' | 'budget' | 'cooldown' | 'ineligible' | 'apprentice';

export interface Offer {
  /** 32 lowercase hex chars */
  decisionId: string;
  itemId: string;
  /** arm actually offered (after guardrails and mode) */
  arm: number;
  armName: string;
  kind: 'percent' | 'fixed' | 'free_shipping';
  /** fraction of price */
  discount: number;
  /** probability of `arm` under the logging policy */
  propensity: number;
  purchasePropensity: number;
  /** ms since the epoch */
  expiresAt: number;
  banditArm: number;
  guardrails: GuardrailName[];
  mode: Mode;
  /** the shopper is in the A/B holdout: the baseline arm by rule, propensity 1, never trains the bandit */
  holdout: boolean;
  /** HMAC-signed offer token, when tokenSecret was given */
  token?: string;
}

/** A cart-level offer (offerCart): the cart's terms at catalog prices, currency units */
export interface CartOffer extends Omit<Offer, 'itemId'> {
  scope: 'cart';
  /** the cart decided on (quantities default 1) */
  cart: CartLine[];
  /** amount off the order: percent x eligibleValue, or the fixed amount (at most eligibleValue); 0 for free shipping and arm 0 */
  amount: number;
  /** the offered arm's minimum spend (0 for arm 0) */
  minSpend: number;
  /** sum of price x quantity (absent for a holdout shopper's cart) */
  cartValue?: number;
  /** value of the lines the arm applies to (its categories / brands / items, not excluded) */
  eligibleValue?: number;
  /** here: amount / cartValue */
  discount: number;
}

export interface Outcome { converted: boolean; revenue?: number; margin?: number; ts?: number; }

export interface BundleInfo {
  schemaMajor: number; schemaMinor: number; nItems: number; embDim: number; hidden: number;
  nArms: number; contextDim: number; signed: boolean; createdAtMs: number; modelVersion: string;
}
export interface DiscoInfo extends BundleInfo { simd: boolean; mode: Mode; holdout: boolean; }

export interface BundleHeader {
  schemaMajor: number; schemaMinor: number; payload: Uint8Array; checksum: bigint;
  signatureAlgo: number; signature: Uint8Array | null; keyId: string | null;
}

export declare class Engine {
  static load(wasm: WasmInput): Promise<Engine>;
  readonly simd: boolean;
  readonly memory: WebAssembly.Memory;
}

export declare class Disco {
  static create(options: DiscoOptions): Promise<Disco>;
  static restore(options: DiscoOptions & { state: Bytes }): Promise<Disco>;
  readonly info: DiscoInfo;
  readonly userKey: bigint;
  readonly transport: Transport | null;
  track(event: TrackEvent): void;
  recommend(options?: RecommendOptions): Recommendation[];
  /** orders a list the page already has by recommend's scores and filters: best first, each id once,
   * filtered ones left out, unknown ids at the end (score null) */
  rank(itemIds: Array<string | number>, options?: RankOptions): RankedItem[];
  /** the model's purchase probability of this shopper (not an offer's logging propensity) */
  propensity(): number;
  offer(itemId: string | number, options?: { now?: number; decisionId?: string }): Promise<Offer>;
  offerSync(itemId: string | number, options?: { now?: number; decisionId?: string }): Offer;
  /** a cart-level offer (the bundle's cart-scope arms) for 1..100 lines, quantities 1..1000 */
  offerCart(cart: Array<{ itemId: string | number; quantity?: number }>, options?: { now?: number; decisionId?: string }): Promise<CartOffer>;
  shown(decisionId: string, options?: { ts?: number }): void;
  /** status HOLDOUT: a holdout shopper's decision (sent to the collector, never trains the bandit) */
  report(decisionId: string, outcome: Outcome): { applied: boolean; status: 'OK' | 'NOT_FOUND' | 'DUPLICATE' | 'HOLDOUT' };
  /** the offer expired unredeemed: reported as not converted, and its reserved budget given back */
  expired(decisionId: string, options?: { ts?: number }): { applied: boolean; status: 'OK' | 'NOT_FOUND' | 'DUPLICATE' | 'HOLDOUT' };
  /** sends what is queued; resolves with what was sent, is still queued and was dropped since the previous flush() */
  flush(): Promise<FlushResult>;
  saveState(): Uint8Array;
  swapBundle(bundle: Bytes | Response | Promise<Bytes | Response>): Promise<DiscoInfo>;
  /** one fleet sync now (needs the sync option) */
  sync(): Promise<SyncResult>;
  readonly syncStats: { pulls: number; failures: number; statsImports: number; bundleSwaps: number; bytes: number; lastVersion: number | null } | null;
  memoryBytes(): { runtime: number; session: number; wasmHeap: number };
  close(): void;
}

/** Validates an event and applies defaults. */
export declare function normalizeEvent(event: TrackEvent, now: number): { itemId: string; type: number; ts: number; price: number; quantity: number };
/** Verifies the bundle's signature (UNSIGNED / SIGNATURE / VERSION / BUNDLE_FORMAT errors). */
export declare function verifyBundle(bundle: Bytes, publicKey: PublicKeyInput, options?: { crypto?: Crypto }): Promise<BundleHeader>;
/** Reads the outer bundle fields without verifying (VERSION / BUNDLE_FORMAT errors). */
export declare function readBundleHeader(bundle: Bytes): BundleHeader;
/** Whether this engine validates WebAssembly SIMD128. */
export declare function hasSimd(): boolean;
/** FNV-1a 64 of a string's UTF-8 bytes (the holdout salt's hash). */
export declare function fnv1a64(s: string): bigint;
/** A shopper id's user key: the first 8 bytes (big-endian) of HMAC-SHA-256(salt, UTF-8 id); salt >= 16 bytes. */
export declare function userKeyOf(userId: string, salt: string | Bytes | CryptoKey, options?: { crypto?: Crypto }): Promise<bigint>;
/** Newest bundle schema major this SDK reads. */
export declare const SCHEMA_MAJOR: number;
