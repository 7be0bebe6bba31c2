// Bundle-signing key rotation (collector/PROTOCOL.md, "Bundle-signing keys"): a client that knows
// the old and the new public key accepts a bundle signed by either (the one whose key id is the
// bundle's key_id verifies it) and refuses one signed by a third key; a client that knows only
// the old key refuses the new key's bundle.
import test from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { verifyBundle, readBundleHeader } from '../../sdk-js/src/node.js';
import { keyIdOf } from '../../sdk-js/src/bundle.js';
import { makeBundle, testKey, rejectsCode, crypto } from './helpers.mjs';

const pair = () => {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    spki: new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' })),
    pemPublic: k.publicKey.export({ type: 'spki', format: 'pem' }),
  };
};

test('keyrotation: old and new public keys both verify their own bundles; a third key does not', async () => {
  const oldKey = testKey(), newKey = pair(), stranger = pair();
  const byOld = makeBundle({ seed: 11 }), byNew = makeBundle({ seed: 11, key: newKey }), byStranger = makeBundle({ seed: 11, key: stranger });
  // the bundles name their key
  assert.equal(readBundleHeader(byOld).keyId, await keyIdOf(oldKey.spki, crypto));
  assert.equal(readBundleHeader(byNew).keyId, await keyIdOf(newKey.spki, crypto));
  assert.notEqual(readBundleHeader(byOld).keyId, readBundleHeader(byNew).keyId);
  const both = [oldKey.spki, newKey.pemPublic];  // any of the key forms, in any order
  assert.equal((await verifyBundle(byOld, both)).keyId, readBundleHeader(byOld).keyId);
  assert.equal((await verifyBundle(byNew, both)).keyId, readBundleHeader(byNew).keyId);
  assert.equal((await verifyBundle(byNew, [...both].reverse())).keyId, readBundleHeader(byNew).keyId);
  await assert.rejects(verifyBundle(byStranger, both), (e) => e.code === 'SIGNATURE' && e.message.includes(`signed by key ${readBundleHeader(byStranger).keyId}, not a key given`));
  // after the rotation window: only the new key
  await rejectsCode(assert, verifyBundle(byOld, [newKey.spki]), 'SIGNATURE');
  await rejectsCode(assert, verifyBundle(byNew, [oldKey.spki]), 'SIGNATURE');
  await rejectsCode(assert, verifyBundle(byNew, []), 'SIGNATURE');
  // a modified payload is refused even though its key id is known
  const bad = byNew.slice();
  const h = readBundleHeader(byNew);
  bad[h.payload.byteOffset - byNew.byteOffset + 5] ^= 1;
  await rejectsCode(assert, verifyBundle(bad, both), 'SIGNATURE');
  // an unsigned bundle stays UNSIGNED (not hidden behind the list)
  await rejectsCode(assert, verifyBundle(makeBundle({ unsigned: true }), both), 'UNSIGNED');
});
