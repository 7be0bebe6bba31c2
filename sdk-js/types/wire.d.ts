// @disco/sdk/wire: the collector's wire records (schemas/events.fbs, collector/PROTOCOL.md) as the
// SDK builds them, for a store that sends records of its own through the Transport (a pilot's log,
// a backfill): the same field names, enums and user_id rule as Disco and the edge handler.

/** Decision modes by their wire name, indexed by the runtime's mode (0 Online, 1 Apprentice, 2 LoggingOnly). */
export declare const MODE_WIRE: readonly ['Online', 'Apprentice', 'LoggingOnly'];

/** The store's shopper id as a decision's user_id: <= 256 UTF-8 bytes, no control characters; else null. */
export declare function wireUserId(uid: unknown): string | null;

/** A normalized event: type 0 view, 1 click, 2 cart, 3 remove, 4 purchase. */
export interface WireEventInput { ts: number; type: 0 | 1 | 2 | 3 | 4; itemId: string; price: number; quantity: number; }

export interface EventRecord {
  user_key: string; session_id?: string; ts_ms: number; type: 'View' | 'Click' | 'Cart' | 'Remove' | 'Purchase';
  item_id: string; price: number; quantity: number;
}

/** An Event record; sessionId only when known. */
export declare function eventRecord(userKey: string | bigint | number, e: WireEventInput, sessionId?: string): EventRecord;

export interface DecisionRecord {
  decision_id: string; ts_ms: number; user_key: string; user_id?: string; item_id: string;
  arm: number; discount: number; propensity: number; model_version: string; policy_version: string;
  mode: 'Online' | 'Apprentice' | 'LoggingOnly'; shown: boolean; price: number; cost: number;
  context?: number[]; holdout?: boolean;
  [field: string]: unknown;
}

/**
 * A Decision record of decision `d` on `itemId`; `extra` last (context, shown, or holdout + propensity 1).
 * `policyVersion` defaults to `modelVersion`; `user_id` only when `userId` is given.
 */
export declare function decisionRecord(
  d: { decisionId: string; arm: number; discount: number; propensity: number },
  f: { ts: number; userKey: string | bigint | number; userId?: string | null; itemId: string; modelVersion: string;
       policyVersion?: string; mode: 0 | 1 | 2; price: number; cost: number },
  extra?: Record<string, unknown>,
): DecisionRecord;

/** An Outcome record (schemas/events.fbs Outcome): `margin` is what the decision made, converted or not. */
export interface OutcomeRecord { decision_id: string; ts_ms: number; converted: boolean; revenue: number; margin: number }
/** The Outcome record of decision `decisionId`, as the SDK and the edge handler send it. */
export declare function outcomeRecord(decisionId: string, ts: number, converted: boolean, revenue: number, margin: number): OutcomeRecord;
