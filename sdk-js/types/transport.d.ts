import type { StorageLike } from './index.js';

export interface TransportOptions {
  /** collector endpoint (POST) */
  url: string;
  /** the site's HMAC secret (servers, edge workers): signs every batch */
  key: string | Uint8Array;
  /** sent as x-disco-key; default: first 16 hex chars of SHA-256(key) */
  keyId?: string;
  senderId?: string;
  storage?: StorageLike | null;
  storageKey?: string;
  /** records held at most (queued + in flight); beyond, records are dropped and counted */
  maxQueue?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  timeoutMs?: number;
  passProbability?: number;
  beaconOnHide?: boolean;
  fetch?: typeof fetch;
  sendBeacon?: (url: string, data: Blob) => boolean;
  random?: () => number;
  now?: () => number;
  crypto?: Crypto;
  /** called with every transport error (DiscoError NETWORK, REJECTED, DROPPED, STORAGE); giving it silences the console warning */
  onError?: (error: Error) => void;
  /** no console.warn for the first rejected batch / queue overflow (default false) */
  quiet?: boolean;
}

/** What flush() reports: everything since the previous flush(). */
export interface FlushResult {
  /** everything handed to the transport was delivered and nothing was dropped */
  ok: boolean;
  /** records the collector acknowledged */
  sent: number;
  /** records still waiting (the collector is unreachable or answered 408/429/5xx; a retry is scheduled) */
  queued: number;
  /** records lost: rejected by the collector (other 4xx) or beyond maxQueue */
  dropped: number;
  droppedByKind: { events: number; decisions: number; outcomes: number; activations: number };
  /** the last error seen (NETWORK, REJECTED, DROPPED), or null */
  error: Error | null;
}

export declare class Transport {
  constructor(options: TransportOptions);
  readonly senderId: string;
  /** records queued plus in flight */
  readonly size: number;
  readonly stats: { sentBatches: number; sentRecords: number; retries: number; rejectedBatches: number; beacons: number; dropped: number };
  enqueue(kind: 'events' | 'decisions' | 'outcomes' | 'activations', record: object): boolean;
  flush(): Promise<FlushResult>;
  flushBeacon(): Promise<boolean>;
  backoffDelay(attempt: number): number;
  close(): void;
}

/** A page's transport: the site's public write key (x-disco-write-key; beacons disco_write_key=), nothing signed. */
export interface WriteKeyTransportOptions extends Omit<TransportOptions, 'key' | 'keyId'> {
  writeKey: string;
}
export declare class WriteKeyTransport extends Transport {
  constructor(options: WriteKeyTransportOptions);
  readonly writeKey: string;
}
