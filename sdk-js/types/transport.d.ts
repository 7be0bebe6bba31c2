import type { StorageLike } from './index.js';

export interface TransportOptions {
  /** collector endpoint (POST) */
  url: string;
  /** the site's HMAC secret */
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
  onError?: (error: Error) => void;
}

export declare class Transport {
  constructor(options: TransportOptions);
  readonly senderId: string;
  /** records queued plus in flight */
  readonly size: number;
  readonly stats: { sentBatches: number; sentRecords: number; retries: number; rejectedBatches: number; beacons: number; dropped: number };
  enqueue(kind: 'events' | 'decisions' | 'outcomes' | 'activations', record: object): boolean;
  flush(): Promise<boolean>;
  flushBeacon(): Promise<boolean>;
  backoffDelay(attempt: number): number;
  close(): void;
}
