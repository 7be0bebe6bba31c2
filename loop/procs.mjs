// The loop's child processes: the simulator (line protocol), the collector (HTTP on loopback) and
// the CLI runs (disco-train, disco-eval, disco-collector export), each logged to train.log.
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const execFileP = promisify(execFile);
// Children to stop if the loop fails half way (the collector serves until told to stop).
const children = new Set();
process.on('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM'); });

// disco-loop-sim: one command per line on stdin (STEP, ARMS, EVENTS, FINISH), answers end with '.'.
export class SimProcess {
  constructor(bin, args) {
    this.p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.p);
    this.stderr = '';
    this.p.stderr.on('data', (d) => { this.stderr += d; });
    this.lines = createInterface({ input: this.p.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => this.p.on('exit', (code) => resolve(code)));
  }
  async line() {
    const r = await this.lines.next();
    if (r.done) {
      const code = await this.exited;
      throw new Error(`disco-loop-sim exited (status ${code}): ${this.stderr.trim() || 'no message'}`);
    }
    return r.value;
  }
  send(cmd) { this.p.stdin.write(cmd + '\n'); }
  async until(onLine) {
    for (;;) {
      const l = await this.line();
      if (l === '.') return;
      onLine(l);
    }
  }
}

export async function startCollector(bin, confPath, logPath) {
  const log = fs.openSync(logPath, 'a');
  const p = spawn(bin, ['serve', '--config', confPath], { stdio: ['ignore', 'pipe', log] });
  children.add(p);
  const rl = createInterface({ input: p.stdout });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`disco-collector did not start within 20 s (see ${logPath})`)), 20000);
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`disco-collector exited with status ${code} (see ${logPath})`)); });
    rl.on('line', (l) => {
      fs.appendFileSync(logPath, l + '\n');
      const m = /listening on [^:]+:(\d+)/.exec(l);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
  });
  return { p, port, url: `http://127.0.0.1:${port}` };
}

// A CLI run, its command line and output appended to logPath; a status outside okCodes throws.
export async function run(bin, args, logPath, what, okCodes = [0]) {
  const name = path.basename(bin);
  try {
    const r = await execFileP(bin, args, { maxBuffer: 64 << 20 });
    fs.appendFileSync(logPath, `$ ${name} ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    fs.appendFileSync(logPath, `$ ${name} ${args.join(' ')}\n${e.stdout ?? ''}${e.stderr ?? ''}\n(exit ${e.code})\n`);
    if (okCodes.includes(e.code)) return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    throw new Error(`${what} failed (${name}, status ${e.code}): ${(e.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}; see ${logPath}`);
  }
}

// CPU seconds of this process and of its children that have been waited for (/proc/self/stat
// utime, stime, cutime, cstime at 100 ticks/s); the wall time depends on the machine's load.
export function cpuSeconds() {
  try {
    const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch { return NaN; }
}
