export * from './index.js';
export { createEdgeHandler, EdgeOptions, EdgeHandler, KVLike } from './edge.js';
export { verifyOfferToken } from './token.js';
import type { StorageLike } from './index.js';

/** The packaged builds (sdk-js/dist/disco-simd.wasm and disco.wasm) as bytes. */
export declare function loadWasm(options?: { dir?: string | URL }): Promise<{ simd?: Uint8Array; plain?: Uint8Array }>;
/** A bundle file's bytes. */
export declare function loadBundleFile(path: string): Promise<Uint8Array>;
/** A durable StorageLike for the offline queue: one JSON file, rewritten atomically (fsync + rename) on every change. */
export declare function fileStorage(path: string, options?: { fsync?: boolean }): StorageLike & { readonly path: string };
