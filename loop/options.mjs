// disco loop's options (loop.mjs --help): flags, the --quick world, defaults and checks.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli, usageError } from '../lib/cli.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const USAGE = `disco loop [--quick] [options]
  --out DIR               output folder (default out/loop, out/loop-quick with --quick); replaced
  --bin-dir DIR           build folder with loop/disco-loop-sim, collector/disco-collector,
                          trainer/model/disco-train, trainer/eval/disco-eval and trainer/sim/disco-sim
                          (default $DISCO_BUILD or build/release)
  --sim-bin, --collector-bin, --train-bin, --eval-bin, --disco-sim-bin FILE   override one binary
  --seed N (42)  --shoppers N (6000)  --items N (3000)  --days N loop days (21)  --history-days N (7)
  --edges N (4)           edge workers (createEdgeHandler instances); shopper s is served by edge s mod N
  --pull-every-s S (3600) simulated seconds between transport flushes and fleet syncs (sync.everyMs)
  --retrain-every-days M (7)  --train-steps K (300)  a bounded retrain (disco-train train) on the
                          collector's canonical export, then disco-train policy and the gate
  --last-days L (5)       days averaged for the final comparison
  --tolerance F (0.10; 0.05 with --quick)  the run fails (exit 1 with --quick) when disco's margin over
                          all loop days < (1 - F) x no discount's, or not above the best fixed discount's
  --quick                 CI run: 1500 shoppers, 1000 items, 4 + 8 days, 2 edges, syncs every 2 h, retrain every
                          4 days (40 steps), tolerance 0.05, last 3 days, 20000 pilot shoppers
  --chart-svg FILE        also write the chart as a standalone SVG (e.g. docs/loop.svg)
  --pilot-shoppers N (50000; 20000 with --quick)  the store's randomized pilot before launch: disco-sim
                          --logging-policy P (below), 49 days, the loop's seed (same store and catalog), other
                          shoppers than the loop's; its log is sent to the collector (site "pilot") through the
                          SDK's Transport, and the policy is fitted from the collector's canonical export of it
  --pilot-policy P (epsilon:0.2:0%)  the pilot's logging policy (disco-sim --logging-policy)
  --policy value|myopic|none (value)  what disco-train policy fits into every bundle: the warm start, noise
                          scale and pooled delayed cost plus the long-term value model (value), without the
                          value model (myopic: --no-value-model), or nothing (none: the trainer's bundle as is)
  --policy-args "ARGS"    extra disco-train policy options (split on spaces), e.g. "--prior-weight 0.5"
  --gate 1|0 (1)          run disco-eval gate at every retrain (0: publish every retrain unchecked)
  --holdout SHARE (0)     the SDK's holdout option: a stable share of shoppers always gets arm 0; the run
                          ends with disco-eval ab's lift of disco over the holdout
  --edge-history 1|0 (1)  the edges track the history days' events before launch (the SDK runs before offers do)`;

// flag -> option key; the string options, every other one is a non-negative number.
const NAMES = {
  out: 'out', 'bin-dir': 'binDir', seed: 'seed', shoppers: 'shoppers', items: 'items', days: 'days',
  'history-days': 'historyDays', edges: 'edges', 'pull-every-s': 'pullEveryS', 'retrain-every-days': 'retrainEveryDays',
  'train-steps': 'trainSteps', 'last-days': 'lastDays', tolerance: 'tolerance',
  'chart-svg': 'chartSvg', 'sim-bin': 'simBin', 'collector-bin': 'collectorBin', 'train-bin': 'trainBin', 'eval-bin': 'evalBin',
  'disco-sim-bin': 'discoSimBin', 'pilot-shoppers': 'pilotShoppers', 'pilot-policy': 'pilotPolicy', policy: 'policy',
  'policy-args': 'policyArgs', gate: 'gate', holdout: 'holdout', 'edge-history': 'edgeHistory',
};
const STRINGS = new Set(['out', 'binDir', 'chartSvg', 'simBin', 'collectorBin', 'trainBin', 'evalBin', 'discoSimBin', 'pilotPolicy', 'policy', 'policyArgs']);

/** The loop's options from `argv` (default: the command line; exit 2 with the usage on a bad one, 0 after --help). */
export function parseOptions(argv) {
  const o = {
    quick: false, out: null, binDir: process.env.DISCO_BUILD ?? path.join(ROOT, 'build/release'),
    seed: 42, shoppers: 6000, items: 3000, days: 21, historyDays: 7, edges: 4, pullEveryS: 3600,
    retrainEveryDays: 7, trainSteps: 300, lastDays: 5, tolerance: 0.10, chartSvg: null,
    simBin: null, collectorBin: null, trainBin: null, evalBin: null, discoSimBin: null,
    pilotShoppers: 50000, pilotPolicy: 'epsilon:0.2:0%', policy: 'value', policyArgs: '', gate: 1, holdout: 0, edgeHistory: 1,
  };
  const quickDefaults = { shoppers: 1500, items: 1000, days: 8, historyDays: 4, retrainEveryDays: 4, trainSteps: 40, lastDays: 3, edges: 2, tolerance: 0.05, pullEveryS: 7200, pilotShoppers: 20000 };
  const options = { quick: { type: 'boolean' } };
  for (const flag of Object.keys(NAMES)) options[flag] = { type: 'string' };
  const { values } = parseCli({ name: 'disco loop', usage: USAGE, options, argv });
  const set = {};
  for (const [flag, v] of Object.entries(values)) {
    const k = NAMES[flag];
    if (!k) continue;  // quick, help
    if (STRINGS.has(k)) { set[k] = v; continue; }
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) usageError('disco loop', USAGE, `--${flag}: expected a non-negative number, got '${v}'`);
    set[k] = x;
  }
  o.quick = values.quick === true;
  if (o.quick) Object.assign(o, quickDefaults);
  Object.assign(o, set);
  o.out = path.resolve(o.out ?? path.join(ROOT, o.quick ? 'out/loop-quick' : 'out/loop'));
  o.simBin ??= path.join(o.binDir, 'loop/disco-loop-sim');
  o.collectorBin ??= path.join(o.binDir, 'collector/disco-collector');
  o.trainBin ??= path.join(o.binDir, 'trainer/model/disco-train');
  o.evalBin ??= path.join(o.binDir, 'trainer/eval/disco-eval');
  o.discoSimBin ??= path.join(o.binDir, 'trainer/sim/disco-sim');
  if (!['value', 'myopic', 'none'].includes(o.policy)) throw new Error(`--policy: expected value, myopic or none, got '${o.policy}'`);
  for (const [flag, f] of [['--sim-bin', o.simBin], ['--collector-bin', o.collectorBin], ['--train-bin', o.trainBin], ['--eval-bin', o.evalBin], ['--disco-sim-bin', o.discoSimBin]]) {
    if (!fs.existsSync(f)) throw new Error(`${f}: not found (build it, or pass --bin-dir / ${flag})`);
  }
  if (!(Number.isInteger(o.pilotShoppers) && o.pilotShoppers >= 100)) throw new Error('--pilot-shoppers must be an integer >= 100');
  if (!(o.edges >= 1) || !Number.isInteger(o.edges)) throw new Error('--edges must be an integer >= 1');
  if (!(o.days >= 2)) throw new Error('--days must be >= 2');
  if (!(o.pullEveryS >= 60)) throw new Error('--pull-every-s must be >= 60 simulated seconds');
  if (!(o.retrainEveryDays >= 1)) throw new Error('--retrain-every-days must be >= 1');
  if (!(o.tolerance >= 0 && o.tolerance < 1)) throw new Error('--tolerance must be in [0, 1)');
  if (!(o.holdout >= 0 && o.holdout < 1)) throw new Error('--holdout must be a share in [0, 1), e.g. 0.1');
  return o;
}
