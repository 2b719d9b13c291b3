import net from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 in front of a real server. `stop()` closes the
 * listener and cuts every connection, which is what relay sees when the
 * server behind it goes down; `start()` brings it back on the same port.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Each upstream socket and the client it answers, for holdDownstream. */
  private readonly downstream = new Map<net.Socket, net.Socket>();
  private held = false;
  port = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  async start(): Promise<this> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.upstreamPort, this.upstreamHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      this.downstream.set(upstream, client);
      upstream.on('close', () => this.downstream.delete(upstream));
      if (this.held) upstream.pause();
      else upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this;
  }

  /**
   * Holds what the server sends (its bytes wait in the proxy) while what the
   * client sends still goes through: the server got the request, the answer
   * is late. For RabbitMQ, a publish arrives but its confirm does not.
   */
  holdDownstream(): void {
    this.held = true;
    for (const [upstream, client] of this.downstream) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Lets the held answers through, and everything after them. */
  releaseDownstream(): void {
    this.held = false;
    for (const [upstream, client] of this.downstream) upstream.pipe(client);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
