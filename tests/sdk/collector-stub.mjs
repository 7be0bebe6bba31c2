// A real HTTP collector on 127.0.0.1 for the transport tests: verifies x-disco-* auth exactly as
// sdk-js/README.md documents it (HMAC-signed with `key`, or with `writeKey` a page's public write
// key and nothing signed), records batches (and each request's headers), and can be stopped and
// restarted on one port.
import { createServer } from 'node:http';
import { createHmac, createHash } from 'node:crypto';

export class TestCollector {
  constructor({ key, writeKey, status = () => 200 } = {}) {
    this.key = key;
    this.writeKey = writeKey;
    this.keyId = key && createHash('sha256').update(key).digest('hex').slice(0, 16);
    this.headers = [];
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
        this.headers.push(req.headers);
        const ok = this.writeKey ? req.headers['x-disco-write-key'] === this.writeKey
          : req.headers['x-disco-key'] === this.keyId && req.headers['x-disco-signature'] === createHmac('sha256', this.key).update(`${ts}.${body}`).digest('hex');
        if (!ok) {
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
