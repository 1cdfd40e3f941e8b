'use strict';
/**
 * A loopback TCP proxy that can blackhole connections: they stay open, and every byte is
 * dropped, both ways. Shared by test/faults/blackhole.test.ts and chaos/run.js (plain JS, so
 * the chaos run needs no build; types in blackholeProxy.d.ts).
 *
 *   blackholeCurrent()  the connections open now go silent for good, every byte dropped both
 *                       ways; new ones pass (a dropped conntrack or NAT entry, an L4 balancer
 *                       flip). With { replies: true } only what the server sends is dropped:
 *                       a request still runs, its reply never arrives.
 *   partition()         every other connection, current and new, goes silent until heal() (a new one
 *                       is accepted, as a TCP handshake with a proxy is, but hears nothing).
 *                       Bytes are held, not dropped, as TCP retransmits them:
 *   heal()              ends a partition: what each surviving connection sent meanwhile is
 *                       delivered, in order (the network came back before either side gave
 *                       up); connections silenced by blackholeCurrent() stay silent
 *
 * A silenced connection is never closed by the proxy: a FIN from the client is dropped like any
 * byte (allowHalfOpen), so the client learns nothing until its own timeout.
 */
const net = require('node:net');

class BlackholeProxy {
  /** @param {{ targetPort: number, targetHost?: string, port?: number }} o */
  constructor(o) {
    this.targetPort = o.targetPort;
    this.targetHost = o.targetHost || '127.0.0.1';
    this.wantPort = o.port || 0;
    this.port = 0;
    this.partitioned = false;
    /** @type {Set<{ client: net.Socket, upstream: net.Socket, silent: boolean, partitioned: boolean }>} */
    this.pairs = new Set();
    /** Upstream sockets, including those of silenced pairs whose client is gone (closed by close()). */
    this.leftOpen = new Set();
    this.stats = { accepted: 0, silenced: 0, dropped: 0 };
    this.server = net.createServer({ allowHalfOpen: true }, client => this.accept(client));
  }

  /** @returns {Promise<number>} the port it listens on */
  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.wantPort, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = this.server.address().port;
        resolve(this.port);
      });
    });
  }

  accept(client) {
    this.stats.accepted += 1;
    const upstream = net.connect({ port: this.targetPort, host: this.targetHost, allowHalfOpen: true });
    // silent: 'both' | 'replies' | null. held: bytes kept during a partition, per direction.
    const pair = { client, upstream, silent: null, partitioned: this.partitioned, held: { up: [], down: [] } };
    this.pairs.add(pair);
    const pass = (from, to, dir) => {
      from.on('data', chunk => {
        if (pair.silent === 'both' || (pair.silent === 'replies' && dir === 'down')) {
          this.stats.dropped += chunk.length;
          return;
        }
        // A pair already blackholed keeps its own rule; a partition holds the others' bytes.
        if (pair.partitioned && !pair.silent) {
          pair.held[dir].push(chunk);
          return;
        }
        to.write(chunk);
      });
      from.on('end', () => {
        if (!pair.silent && !pair.partitioned) to.end();
      });
    };
    pass(client, upstream, 'up');
    pass(upstream, client, 'down');
    const gone = () => {
      if (!this.pairs.has(pair)) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A silenced pair keeps its upstream open (the server sees a quiet client, not a close), and
    // a client's FIN or RST is not passed on either.
    client.on('close', () => {
      if (pair.silent || pair.partitioned)
        this.pairs.delete(pair); // upstream stays, in leftOpen
      else gone();
    });
    upstream.on('close', () => (pair.silent || pair.partitioned ? undefined : gone()));
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    this.leftOpen.add(upstream);
    upstream.on('close', () => this.leftOpen.delete(upstream));
  }

  /** Silences the connections open now; returns how many. New connections pass. */
  blackholeCurrent(o = {}) {
    let n = 0;
    for (const p of this.pairs) {
      if (p.silent) continue;
      p.silent = o.replies ? 'replies' : 'both';
      p.held = { up: [], down: [] };
      n += 1;
    }
    this.stats.silenced += n;
    return n;
  }

  /** Silences every connection, current and new, until heal(). */
  partition() {
    this.partitioned = true;
    for (const p of this.pairs) if (!p.silent) p.partitioned = true;
  }

  /** Ends a partition. */
  heal() {
    this.partitioned = false;
    for (const p of this.pairs) {
      p.partitioned = false;
      const { up, down } = p.held;
      p.held = { up: [], down: [] };
      if (p.silent) continue;
      for (const c of up) p.upstream.write(c);
      for (const c of down) p.client.write(c);
    }
  }

  /** Open connections: all, and how many of them are silent now. */
  counts() {
    let silent = 0;
    for (const p of this.pairs) if (p.silent || p.partitioned) silent += 1;
    return { open: this.pairs.size, silent };
  }

  /** Stops listening and destroys every connection. */
  close() {
    for (const p of this.pairs) p.client.destroy();
    for (const u of this.leftOpen) u.destroy();
    this.pairs.clear();
    this.leftOpen.clear();
    return new Promise(resolve => this.server.close(() => resolve()));
  }
}

module.exports = { BlackholeProxy };
