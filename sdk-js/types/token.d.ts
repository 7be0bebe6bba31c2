import type { Bytes } from './index.js';

export interface OfferClaims { decisionId: string; itemId: string; discount: number; arm: number; expiresAt: number; }
export interface CartLine { itemId: string; quantity: number; }
/** A cart offer's terms as signed: discount = amount / the cart's value; amount off the order (currency) */
export interface CartOfferClaims {
  scope: 'cart'; decisionId: string; discount: number; amount: number; minSpend: number;
  kind: 'percent' | 'fixed' | 'free_shipping'; arm: number; expiresAt: number;
}

/** "v1.<base64url JSON claims>.<base64url HMAC-SHA256>"; a cart offer's claims carry the digest of its cart */
export declare function signOfferToken(offer: OfferClaims | (Omit<CartOfferClaims, 'scope'> & { scope: 'cart'; cart: CartLine[] }), secret: string | Bytes | CryptoKey, options?: { crypto?: Crypto }): Promise<string>;
/**
 * Throws DiscoError TOKEN_INVALID (also for a missing token) or TOKEN_EXPIRED; for a cart token
 * (verify it with the order's cart and its total at catalog prices) also TOKEN_SCOPE, TOKEN_CART_MISMATCH
 * or TOKEN_MIN_SPEND; TOKEN_SCOPE for an item token given a cart.
 */
export declare function verifyOfferToken(token: string | undefined, secret: string | Bytes | CryptoKey, options?: { now?: number | (() => number); crypto?: Crypto }): Promise<OfferClaims>;
export declare function verifyOfferToken(token: string | undefined, secret: string | Bytes | CryptoKey, options: { now?: number | (() => number); crypto?: Crypto; cart: CartLine[]; total: number }): Promise<CartOfferClaims>;
/** base64url(SHA-256(UTF-8 JSON of [item id, quantity] pairs, one per id (quantities summed), sorted by id)): what a cart token signs of its cart */
export declare function cartDigest(cart: CartLine[], crypto?: Crypto): Promise<string>;
/** The secret as bytes (a CryptoKey as it is); throws DiscoError INVALID_ARGUMENT under 16 bytes. */
export declare function tokenSecretBytes(secret: string | Bytes | CryptoKey, what?: string): Uint8Array | CryptoKey;
export declare function hmacKey(secret: string | Bytes | CryptoKey, crypto?: Crypto, what?: string): Promise<CryptoKey>;
/** A shopper id's user key: the first 8 bytes (big-endian) of HMAC-SHA-256(salt, UTF-8 id). */
export declare function userKeyOf(userId: string, salt: string | Bytes | CryptoKey, options?: { crypto?: Crypto }): Promise<bigint>;
/** A key for one use (`info`) derived from a secret's bytes (tokenSecretBytes: >= 16) with HKDF-SHA-256 (empty salt). */
export declare function derivedKey(secret: Uint8Array, info: string, algorithm: AesKeyGenParams | HmacImportParams, uses: KeyUsage[], crypto?: Crypto): Promise<CryptoKey>;
/** "c1." + base64url(IV | AES-GCM(time sealed | bytes) | tag): the edge's session cookies. */
export declare function sealCookie(bytes: Uint8Array, key: CryptoKey, nowMs: number, crypto?: Crypto): Promise<string>;
/** The sealed bytes, or null when malformed, tampered with, sealed with another key, or sealed more than maxAgeS ago. */
export declare function openCookie(value: string, key: CryptoKey, nowMs: number, maxAgeS: number, crypto?: Crypto): Promise<Uint8Array | null>;
