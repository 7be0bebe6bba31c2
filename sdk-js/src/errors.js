// Typed errors of the SDK. `code` is stable and documented in README.md; `status` is the runtime's
// disco_status number when the error came from disco.wasm.

export const STATUS_CODES = Object.freeze([
  'OK', 'INVALID_ARGUMENT', 'BUNDLE_FORMAT', 'CHECKSUM', 'SIGNATURE', 'VERSION', 'SHAPE',
  'UNKNOWN_ITEM', 'STATE', 'BUFFER_TOO_SMALL', 'NOT_FOUND', 'DUPLICATE', 'UNSUPPORTED',
  'OUT_OF_MEMORY', 'INTERNAL',
]);

export class DiscoError extends Error {
  /**
   * @param {string} code e.g. 'UNKNOWN_ITEM', 'SIGNATURE', 'UNSIGNED', 'TOKEN_EXPIRED'
   * @param {string} message what happened and what to do about it
   * @param {{ status?: number, cause?: unknown }} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'DiscoError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
  }
}

export function fail(code, message, extra) {
  throw new DiscoError(code, message, extra);
}
