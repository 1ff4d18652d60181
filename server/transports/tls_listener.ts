import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { sendableFd, sendNow } from "../send_now.ts";
import type { ServerTlsOptions } from "../server_options.ts";
import { writeAll } from "./write_all.ts";

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
 * Listens for TLS the way a plain listener does: Deno's own TCP listener accepts (so a failed
 * accept, e.g. no descriptors left, is the accept loop's to retry, as on the plain port), each
 * socket gets TCP_NODELAY, and then speaks TLS through node:tls. Deno's TLS listener can do
 * neither: its connections cannot turn Nagle's algorithm off (so the first message after the
 * handshake waits for the peer's delayed acknowledgement, 40 ms on Linux), and closing one whose
 * handshake never finished keeps the socket until the peer speaks. node:net's listener (used
 * before) stops accepting for good once accept fails with EMFILE under Deno 2.9.6. Here closing
 * destroys the socket at once, handshake or not.
 * @throws {Deno.errors.AddrInUse} when the port is taken
 */
export function listenTls(
  where: { readonly hostname: string; readonly port: number },
  options: ServerTlsOptions,
): Promise<Acceptor> {
  const context = tls.createSecureContext({
    cert: options.cert,
    key: options.key,
  });
  // In the executor: a taken port rejects rather than throws.
  return new Promise((resolve) =>
    resolve(new TlsAcceptor(Deno.listen(where), context))
  );
}

class TlsAcceptor implements Acceptor {
  readonly addr: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #context: tls.SecureContext;

  constructor(listener: Deno.TcpListener, context: tls.SecureContext) {
    this.#listener = listener;
    this.#context = context;
    this.addr = listener.addr as Deno.NetAddr;
  }

  async accept(): Promise<Deno.Conn> {
    const conn = await this.#listener.accept(); // its failures are the accept loop's to pace
    try {
      conn.setNoDelay(true);
    } catch { /* the peer is already gone: its first read says so */ }
    try {
      const stream = new ConnStream(conn);
      const socket = new tls.TLSSocket(stream, {
        isServer: true,
        secureContext: this.#context,
      });
      return new NodeTlsConn(socket, stream, conn) as unknown as Deno.Conn;
    } catch (error) {
      conn.close(); // its descriptor with it; the accept loop pauses and tries again
      throw error;
    }
  }

  close(): void {
    this.#listener.close();
  }
}

const FIRST_READ_BYTES = 1024; // a ClientHello fits; an idle TLS socket holds no more
const MAX_READ_BYTES = 64 * 1024;

/**
 * A Deno TCP socket as the node stream that node:tls reads records from and writes records to;
 * one write at a time, in order. node:tls asks for more whether or not its own socket is paused
 * (Deno 2.9.6), so the reader of the decrypted side holds the reading here while it has unread
 * data: TCP then slows a fast sender down, as on a plain socket.
 */
class ConnStream extends Duplex {
  #conn: Deno.Conn;
  #fd: number; // the socket's descriptor when a record can be sent at once (send_now.ts), else -1
  #buffer = new Uint8Array(FIRST_READ_BYTES);
  #held = false;
  #asked = false; // node:tls asked for more while held

  constructor(conn: Deno.Conn) {
    super();
    this.#conn = conn;
    this.#fd = sendableFd(conn);
  }

  /** Reads nothing more from the socket until {@link release}. */
  hold(): void {
    this.#held = true;
  }

  /** Reads again, if node:tls asked meanwhile. */
  release(): void {
    this.#held = false;
    if (!this.#asked) return;
    this.#asked = false;
    this._read();
  }

  override _read(): void {
    if (this.#held) {
      this.#asked = true;
      return;
    }
    const buffer = this.#buffer;
    this.#conn.read(buffer).then((count) => {
      if (count === null) return void this.push(null);
      this.push(Buffer.from(buffer.subarray(0, count))); // a copy: the buffer is read into again
      if (count === buffer.length && buffer.length < MAX_READ_BYTES) {
        this.#buffer = new Uint8Array(buffer.length * 4);
      }
    }, (error: Error) => this.destroy(error));
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    done: (error?: Error | null) => void,
  ): void {
    // Sent now when the socket takes it (with --allow-ffi on Linux, as plain connections are):
    // no op and no turn of the event loop before the peer has it. The rest goes Deno's way.
    const sent = this.#fd === -1 ? 0 : Math.max(0, sendNow(this.#fd, chunk));
    if (sent === chunk.length) return done();
    writeAll(this.#conn, chunk.subarray(sent)).then(() => done(), done);
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    done: (error?: Error | null) => void,
  ): void {
    const bytes = Buffer.concat(chunks.map(({ chunk }) => chunk));
    writeAll(this.#conn, bytes).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    (this.#conn as Deno.TcpConn).closeWrite().then(() => done(), done);
  }

  override _destroy(
    error: Error | null,
    done: (error?: Error | null) => void,
  ): void {
    this.#fd = -1; // closed below: the number may soon name another socket
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    done(error);
  }
}

/** A TLS socket of node:tls with the part of `Deno.Conn` that {@link Connection} uses. */
class NodeTlsConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  #socket: tls.TLSSocket;
  #stream: ConnStream;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | undefined;
  #reader: {
    buffer: Uint8Array;
    resolve: (count: number | null) => void;
    reject: (error: Error) => void;
  } | undefined;

  constructor(socket: tls.TLSSocket, stream: ConnStream, conn: Deno.Conn) {
    this.#socket = socket;
    this.#stream = stream;
    this.remoteAddr = conn.remoteAddr as Deno.NetAddr;
    this.localAddr = conn.localAddr as Deno.NetAddr;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      stream.hold(); // read on demand, as a Deno socket is: TCP slows a fast sender down
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
    if (this.#reader !== undefined) this.#stream.release();
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
    this.#socket.destroy(); // and so the Deno socket under it (ConnStream._destroy)
    this.#ended = true;
    this.#serve();
  }
}
