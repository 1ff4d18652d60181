import net from "node:net";
import tls from "node:tls";
import type { ServerTlsOptions } from "../server_options.ts";

/** What a transport accepts connections from: a Deno listener, or {@link listenTls}'s. */
export interface Acceptor {
  /** The address it listens on. */
  readonly addr: Deno.Addr;
  /** The next connection; rejects with `Deno.errors.BadResource` once closed. */
  accept(): Promise<Deno.Conn>;
  /** Stops listening. */
  close(): void;
}

/**
 * Listens for TLS the way a plain listener does: each TCP connection is accepted at once, gets
 * TCP_NODELAY, and then speaks TLS (node:tls over node:net). Deno's own TLS listener can do
 * neither: its connections cannot turn Nagle's algorithm off (so the first message after the
 * handshake waits for the peer's delayed acknowledgement, 40 ms on Linux), and closing one whose
 * handshake never finished keeps the socket until the peer speaks. Here closing destroys the
 * socket at once, handshake or not.
 * @throws {Deno.errors.AddrInUse} when the port is taken
 */
export async function listenTls(
  where: { readonly hostname: string; readonly port: number },
  options: ServerTlsOptions,
): Promise<Acceptor> {
  const context = tls.createSecureContext({
    cert: options.cert,
    key: options.key,
  });
  const acceptor = new TlsAcceptor();
  const server = net.createServer((raw) => {
    raw.setNoDelay(true);
    raw.on("error", () => {}); // reported by the TLS socket's read
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: context,
    });
    acceptor.push(new NodeTlsConn(socket, raw));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: Error & { code?: string }) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Deno.errors.AddrInUse(error.message, { cause: error })
          : error,
      ));
    server.listen({ host: where.hostname, port: where.port }, resolve);
  });
  server.on("error", () => {}); // after listening: failed accepts are retried by node:net
  acceptor.start(server);
  return acceptor;
}

class TlsAcceptor implements Acceptor {
  addr!: Deno.NetAddr;
  #server: net.Server | undefined;
  #ready: NodeTlsConn[] = [];
  #waiting: PromiseWithResolvers<Deno.Conn> | undefined;
  #closed = false;

  start(server: net.Server): void {
    this.#server = server;
    const address = server.address() as net.AddressInfo;
    this.addr = {
      transport: "tcp",
      hostname: address.address,
      port: address.port,
    };
  }

  push(conn: NodeTlsConn): void {
    if (this.#closed) return conn.close();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting.resolve(conn as unknown as Deno.Conn);
    else this.#ready.push(conn);
  }

  accept(): Promise<Deno.Conn> {
    const next = this.#ready.shift();
    if (next) return Promise.resolve(next as unknown as Deno.Conn);
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Listener closed"));
    }
    this.#waiting = Promise.withResolvers();
    return this.#waiting.promise;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server?.close();
    for (const conn of this.#ready.splice(0)) conn.close();
    this.#waiting?.reject(new Deno.errors.BadResource("Listener closed"));
    this.#waiting = undefined;
  }
}

/** A TLS socket of node:tls with the part of `Deno.Conn` that {@link Connection} uses. */
class NodeTlsConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  #socket: tls.TLSSocket;
  #raw: net.Socket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | undefined;
  #reader: {
    buffer: Uint8Array;
    resolve: (count: number | null) => void;
    reject: (error: Error) => void;
  } | undefined;

  constructor(socket: tls.TLSSocket, raw: net.Socket) {
    this.#socket = socket;
    this.#raw = raw;
    this.remoteAddr = netAddr(raw.remoteAddress, raw.remotePort);
    this.localAddr = netAddr(raw.localAddress, raw.localPort);
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      socket.pause(); // read on demand, as a Deno socket is: TCP slows a fast sender down
      this.#serve();
    });
    const ended = () => {
      this.#ended = true;
      this.#serve();
    };
    socket.on("end", ended);
    socket.on("close", ended);
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#serve();
    });
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#reader !== undefined) {
      return Promise.reject(new Deno.errors.Busy("Read already pending"));
    }
    const promise = new Promise<number | null>((resolve, reject) => {
      this.#reader = { buffer, resolve, reject };
    });
    this.#serve();
    if (this.#reader !== undefined) this.#socket.resume();
    return promise;
  }

  /** Answers a pending read from what has arrived, or with the end or the error. */
  #serve(): void {
    const reader = this.#reader;
    if (reader === undefined) return;
    const chunk = this.#chunks[0];
    if (chunk !== undefined) {
      const count = Math.min(chunk.length, reader.buffer.length);
      reader.buffer.set(chunk.subarray(0, count));
      if (count === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(count);
      this.#reader = undefined;
      return reader.resolve(count);
    }
    if (this.#error !== undefined) {
      this.#reader = undefined;
      return reader.reject(this.#error);
    }
    if (this.#ended) {
      this.#reader = undefined;
      reader.resolve(null);
    }
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) {
        return reject(new Deno.errors.BadResource("Socket closed"));
      }
      this.#socket.write(
        bytes,
        (error) => error ? reject(error) : resolve(bytes.length),
      );
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    this.#socket.destroy();
    this.#raw.destroy();
    this.#ended = true;
    this.#serve();
  }
}

function netAddr(
  hostname: string | undefined,
  port: number | undefined,
): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}
