// The C++ checkout's tests read tokens the SDK signed (tests/checkout/sdk_tokens.json). This test
// re-signs the same offers with the current SDK: when the SDK's token format changes, it fails
// here until the fixture is regenerated (node tests/checkout/make_tokens.mjs) and the C++ side is
// checked against it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeTokens } from '../checkout/make_tokens.mjs';

test('the SDK still signs offer tokens exactly as the C++ checkout fixtures expect', async () => {
  const committed = JSON.parse(readFileSync(new URL('../checkout/sdk_tokens.json', import.meta.url), 'utf8'));
  assert.deepEqual(await makeTokens(), committed);
});
