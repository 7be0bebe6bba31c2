import type { Bytes } from './index.js';

export interface OfferClaims { decisionId: string; itemId: string; discount: number; arm: number; expiresAt: number; }

/** "v1.<base64url JSON claims>.<base64url HMAC-SHA256>" */
export declare function signOfferToken(offer: OfferClaims, secret: string | Bytes | CryptoKey, options?: { crypto?: Crypto }): Promise<string>;
/** Throws DiscoError TOKEN_INVALID (also for a missing token) or TOKEN_EXPIRED. */
export declare function verifyOfferToken(token: string | undefined, secret: string | Bytes | CryptoKey, options?: { now?: number | (() => number); crypto?: Crypto }): Promise<OfferClaims>;
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
