// The collector's wire records (schemas/events.fbs, collector/PROTOCOL.md), built in one place for
// the SDK (index.js) and the edge handler (edge.js).
import { utf8 } from './util.js';

export const MODE_WIRE = ['Online', 'Apprentice', 'LoggingOnly'];
const EVENT_WIRE = ['View', 'Click', 'Cart', 'Remove', 'Purchase'];

/** The store's shopper id as a decision's user_id: <= 256 UTF-8 bytes, no control characters; else null. */
export function wireUserId(uid) {
  return typeof uid === 'string' && uid && utf8(uid).length <= 256 && !/[\u0000-\u001f\u007f]/.test(uid) ? uid : null;
}

/** An Event record of a normalized event (index.js normalizeEvent); sessionId only when known. */
export function eventRecord(userKey, e, sessionId) {
  return {
    user_key: String(userKey), ...(sessionId !== undefined ? { session_id: sessionId } : {}), ts_ms: e.ts,
    type: EVENT_WIRE[e.type], item_id: e.itemId, price: e.price, quantity: e.quantity,
  };
}

/**
 * A Decision record of runtime decision `d` ({ decisionId, arm, discount, propensity }) on `itemId`,
 * item price and cost from the bundle, `extra` last (context, or holdout + propensity 1).
 */
export function decisionRecord(d, { ts, userKey, userId, itemId, modelVersion, policyVersion, mode, price, cost }, extra) {
  return {
    decision_id: d.decisionId, ts_ms: ts, user_key: String(userKey), ...(userId ? { user_id: userId } : {}), item_id: itemId,
    arm: d.arm, discount: d.discount, propensity: d.propensity, model_version: modelVersion,
    policy_version: policyVersion ?? modelVersion, mode: MODE_WIRE[mode], shown: false, price, cost, ...extra,
  };
}

/** An Outcome record: `margin` is what the decision made (the runtime's reward), converted or not. */
export function outcomeRecord(decisionId, ts, converted, revenue, margin) {
  return { decision_id: decisionId, ts_ms: ts, converted, revenue, margin };
}
