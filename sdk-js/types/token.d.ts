import type { Bytes } from './index.js';

export interface OfferClaims { decisionId: string; itemId: string; discount: number; arm: number; expiresAt: number; }

/** "v1.<base64url JSON claims>.<base64url HMAC-SHA256>" */
export declare function signOfferToken(offer: OfferClaims, secret: string | Bytes | CryptoKey, options?: { crypto?: Crypto }): Promise<string>;
/** Throws DiscoError TOKEN_INVALID (also for a missing token) or TOKEN_EXPIRED. */
export declare function verifyOfferToken(token: string | undefined, secret: string | Bytes | CryptoKey, options?: { now?: number | (() => number); crypto?: Crypto }): Promise<OfferClaims>;
/** The secret as bytes (a CryptoKey as it is); throws DiscoError INVALID_ARGUMENT under 16 bytes. */
export declare function tokenSecretBytes(secret: string | Bytes | CryptoKey): Uint8Array | CryptoKey;
export declare function hmacKey(secret: string | Bytes | CryptoKey, crypto?: Crypto): Promise<CryptoKey>;
export declare function sealValue(bytes: Uint8Array, secret: string | Bytes | CryptoKey, crypto?: Crypto): Promise<string>;
export declare function unsealValue(value: string, secret: string | Bytes | CryptoKey, crypto?: Crypto): Promise<Uint8Array | null>;
