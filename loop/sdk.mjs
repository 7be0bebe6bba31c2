// The SDK as a store installs it: loop/package.json depends on "@disco/sdk": "file:../sdk-js"
// (scripts/setup.sh runs npm ci here). Only public entries of the package (tests/loop/product_path.test.mjs).
const sdkMissing = (e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  console.error(`disco loop: @disco/sdk is not installed for loop/ (${e.message.split('\n')[0]}): run \`(cd loop && npm ci)\` or scripts/setup.sh`);
  process.exit(2);
};
export const { createEdgeHandler, fnv1a64, userKeyOf } = await import('@disco/sdk').catch(sdkMissing);
export const { Transport } = await import('@disco/sdk/transport').catch(sdkMissing);
// The collector's wire records, built as the SDK builds them (the package's ./wire entry): the pilot upload
// sends its log through the same functions as the SDK's own decisions and events.
export const { eventRecord, decisionRecord, outcomeRecord } = await import('@disco/sdk/wire').catch(sdkMissing);
