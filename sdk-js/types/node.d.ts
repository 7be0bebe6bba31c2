export * from './index.js';
export { createEdgeHandler, EdgeOptions, EdgeHandler, KVLike } from './edge.js';
import type { Bytes } from './index.js';

/** The packaged builds (sdk-js/dist/disco-simd.wasm and disco.wasm) as bytes. */
export declare function loadWasm(options?: { dir?: string | URL }): Promise<{ simd?: Uint8Array; plain?: Uint8Array }>;
/** A bundle file's bytes. */
export declare function loadBundleFile(path: string): Promise<Uint8Array>;
