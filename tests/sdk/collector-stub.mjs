// A real HTTP collector on 127.0.0.1 for the transport tests: verifies x-disco-* auth exactly as
// sdk-js/README.md documents it, records batches, and can be stopped and restarted on one port.
import { createServer } from 'node:http';
import { createHmac, createHash } from 'node:crypto';

export class TestCollector {
  constructor({ key, status = () => 200 } = {}) {
    this.key = key;
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
    this.status = status;
    this.batches = [];
    this.requests = 0;
    this.authFailures = 0;
    this.server = null;
    this.port = 0;
  }

  async start(port = this.port) {
    this.server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const body = Buffer.concat(chunks).toString('utf8');
        const ts = req.headers['x-disco-timestamp'];
        const sig = createHmac('sha256', this.key).update(`${ts}.${body}`).digest('hex');
        if (req.headers['x-disco-key'] !== this.keyId || req.headers['x-disco-signature'] !== sig) {
          this.authFailures++;
          res.writeHead(401).end();
          return;
        }
        const batch = JSON.parse(body);
        const code = this.status(batch, this.requests);
        if (code >= 200 && code < 300) this.batches.push(batch);
        res.writeHead(code, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise((r, j) => { this.server.once('error', j); this.server.listen(port, '127.0.0.1', r); });
    this.port = this.server.address().port;
    return this;
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise((r) => this.server.close(r));
    this.server = null;
  }

  get url() { return `http://127.0.0.1:${this.port}/v1/batch`; }

  records(kind) { return this.batches.flatMap((b) => b[kind]); }
}

export async function waitFor(pred, { timeoutMs = 5000, stepMs = 10, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
