// The model side of the loop, all through the CLIs a store runs: disco-train train (a bounded
// retrain), disco-train policy + export --policy-fit (the warm start, noise scale, delayed cost and
// long-term value model, fitted on the pilot's canonical export), disco-collector export
// --canonical (the training set), disco-eval gate (promote or hold), and publishing a bundle to the
// collector (atomic rename; the edges pick it up at their next sync).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt } from './format.mjs';
import { run } from './procs.mjs';

export async function train(o, dataDir, outDir, version, logPath) {
  const args = ['train', '--data', dataDir, '--out', outDir, '--epochs', '1', '--max-steps', String(o.trainSteps),
    '--baselines', 'none', '--no-int4', '--no-runtime-int8', '--threads', '2', '--progress', 'off',
    '--key', path.join(o.out, 'keys/private.pem'), '--max-test-sessions', '100', '--cold-holdout', '0',
    '--model-version', version, '--fresh'];
  const t0 = performance.now();
  await run(o.trainBin, args, logPath, 'disco-train train');
  const bundle = path.join(outDir, 'bundle.disco');
  if (!fs.existsSync(bundle)) throw new Error(`disco-train wrote no ${bundle}; see ${logPath}`);
  return { bundle, seconds: (performance.now() - t0) / 1000 };
}

// disco-train policy on the pilot's canonical export, replayed through `bundlePath` (the bundle
// the fit ships in: the contexts depend on its model), then disco-train export --policy-fit.
export async function fitPolicy(o, pilotLog, bundlePath, dataDir, modelDir, version, logPath) {
  if (o.policy === 'none') return { bundle: bundlePath, fit: null };
  const fitPath = path.join(modelDir, 'policy_fit.json');
  const args = ['policy', '--log', pilotLog, '--bundle', bundlePath, '--out', fitPath];
  if (o.policy === 'myopic') args.push('--no-value-model');
  if (o.policyArgs.trim()) args.push(...o.policyArgs.trim().split(/\s+/));
  await run(o.trainBin, args, logPath, 'disco-train policy');
  const out = path.join(modelDir, 'bundle-policy.disco');
  await run(o.trainBin, ['export', '--data', dataDir, '--out', modelDir, '--model', path.join(modelDir, 'model.bin'), '--bundle', out,
    '--no-int4', '--cold-holdout', '0', '--key', path.join(o.out, 'keys/private.pem'), '--model-version', version, '--policy-fit', fitPath],
  logPath, 'disco-train export --policy-fit');
  return { bundle: out, fit: JSON.parse(fs.readFileSync(fitPath, 'utf8')) };
}

export async function exportCanonical(o, colData, site, dir, logPath) {
  fs.rmSync(dir, { recursive: true, force: true });
  const r = await run(o.collectorBin, ['export', '--data', colData, '--canonical', dir, '--site', site], logPath, 'disco-collector export --canonical');
  const m = /(\d+) events, (\d+) decisions, (\d+) activations, (\d+) outcomes/.exec(r.stdout);
  const out = m ? { events: Number(m[1]), decisions: Number(m[2]), activations: Number(m[3]), outcomes: Number(m[4]) } : {};
  Object.defineProperty(out, 'stdout', { value: r.stdout, enumerable: false });  // not in summary.json
  return out;
}

export function publishBundle(src, collectorData) {
  const dst = path.join(collectorData, 'bundle.disco');
  fs.copyFileSync(src, dst + '.tmp');
  fs.renameSync(dst + '.tmp', dst);  // atomic: the collector serves the old or the new file, never half
}

/**
 * The first policy: disco-train policy through bundle m0 on the pilot's export, m0 re-exported with
 * it and published. Returns { current: { path, version }, fitSummary }.
 */
export async function fitFirstPolicy(o, logs, m0, head, pilotLog, colData) {
  const { log, trainLog } = logs;
  const tf = performance.now();
  const p0 = await fitPolicy(o, pilotLog, m0.bundle, head.history, path.join(o.out, 'models/m0'), 'loop-m0', trainLog);
  let fitSummary = null;
  if (p0.fit) {
    publishBundle(p0.bundle, colData);
    fitSummary = summarizeFit(p0.fit);
    log(`policy fit (disco-train policy --log pilot-log --bundle m0${o.policy === 'myopic' ? ' --no-value-model' : ''}): ${fitSummary.text}; ` +
      `bundle m0 re-exported with it (disco-train export --policy-fit), ${((performance.now() - tf) / 1000).toFixed(1)} s -> published`);
  }
  return { current: { path: p0.bundle, version: 'loop-m0' }, fitSummary };
}

/**
 * Retrain k at the start of loop day `day`, as a store would: the collector's canonical export is the
 * training set (disco-train train, bounded), the policy is refitted through the new model on the
 * pilot's export, and disco-eval gate decides on the loop's own log whether the candidate replaces
 * the running bundle `current`. Promoted: published; the edges swap at their next sync.
 * Returns { rec (the retrain's record), current (the bundle running after it) }.
 */
export async function retrain(o, logs, k, day, { colData, pilotLog, current }) {
  const { log, trainLog } = logs;
  const tr = performance.now();
  const dir = path.join(o.out, `train/r${k}`);
  const ex = await exportCanonical(o, colData, 'loop', dir, trainLog);
  const modelDir = path.join(o.out, `models/r${k}`);
  const m = await train(o, dir, modelDir, `loop-r${k}`, trainLog);
  const pk = await fitPolicy(o, pilotLog, m.bundle, dir, modelDir, `loop-r${k}`, trainLog);
  let gate = { decision: 'promote', reason: 'gate off (--gate 0)' };
  if (o.gate) {
    const gj = path.join(o.out, `gate/r${k}.json`);
    const g = await run(o.evalBin, ['gate', '--candidate', pk.bundle, '--current', current.path, '--log', dir, '--json', gj, '--html', path.join(o.out, `gate/r${k}.html`)], trainLog, 'disco-eval gate', [0, 3]);
    const line = (g.stdout.trim().split('\n').find((l) => /^(promote|hold)\b/.test(l)) ?? g.stdout.trim().split('\n').at(-1) ?? '').trim();
    gate = { decision: g.code === 0 ? 'promote' : 'hold', reason: line };
  }
  if (gate.decision === 'promote') { publishBundle(pk.bundle, colData); current = { path: pk.bundle, version: `loop-r${k}` }; }
  const rec = { day, version: `loop-r${k}`, export: ex, seconds: (performance.now() - tr) / 1000, gate, running: current.version };
  log(`  retrain r${k} at day ${day}: the collector's canonical export (${fmt(ex.events ?? 0)} events, ${fmt(ex.decisions ?? 0)} decisions, ` +
    `${fmt(ex.outcomes ?? 0)} outcomes), ${o.trainSteps} steps${pk.fit ? ', policy refitted on the pilot export' : ''}, ${rec.seconds.toFixed(1)} s; ` +
    `gate: ${gate.reason}${gate.decision === 'promote' ? ' -> published' : ` -> ${current.version} stays`}`);
  return { rec, current };
}

// A one-line account of a disco-train policy fit (policy_fit.json).
export function summarizeFit(fit) {
  const parts = [];
  const arms = fit.arms ?? [];
  if (arms.length) parts.push(`warm start mean reward per arm ${arms.map((a) => Number(a.mean_reward ?? 0).toFixed(3)).join(' / ')}`);
  if (fit.noise_scale !== undefined) parts.push(`noise scale ${Number(fit.noise_scale).toFixed(3)}`);
  const dc = fit.delayed_cost;
  if (dc) parts.push(`pooled delayed cost ${Number(dc.estimate ?? 0).toFixed(4)} +- ${Number(dc.se ?? 0).toFixed(4)} x price (charged into the warm start: ${Number(dc.applied ?? 0).toFixed(4)})`);
  const vm = fit.value_model;
  if (vm) parts.push(`value model on ${fmt(Number(vm.rows ?? 0))} offer points, changes the best arm on ${(100 * Number(vm.share_best_arm_changed ?? 0)).toFixed(0)}% of them`);
  const dg = fit.diagnostics ?? {};
  if (dg.rows !== undefined) parts.push(`${fmt(Number(dg.rows))} replayed decisions (${fmt(Number(dg.randomized_rows ?? 0))} randomized)`);
  return {
    text: parts.join('; '), mean_reward: arms.map((a) => a.mean_reward), noise_scale: fit.noise_scale ?? null, delayed_cost: dc ?? null,
    value_model: vm ? { rows: vm.rows, share_best_arm_changed: vm.share_best_arm_changed, fitted: vm.fitted } : null, rows: dg.rows ?? null,
  };
}
