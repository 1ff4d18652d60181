/**
 * The two sides of the lock benchmark (bench/sync_bench.ts): emd through its client library or as
 * raw lines on one socket, and the Redis recipe (`SET key token NX PX ms`, compare-and-delete in Lua).
 * @module
 */
import { connect, type EmClient } from "../mod.ts";
import { RespClient } from "./_resp.ts";

/** Compare-and-delete: release only if the key still holds our token. */
const RELEASE_SCRIPT =
  'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end';

/** The lock's TTL in the Redis recipe: far longer than any hold here. */
const REDIS_TTL_MS = "30000";

/** One side of the comparison: how a client connects, locks and unlocks. */
export interface LockSide {
  readonly label: string;
  open(): Promise<LockClient>;
}

export interface LockClient {
  /** Takes the lock, waiting or retrying as the recipe does. */
  lock(name: string): Promise<void>;
  unlock(name: string): Promise<void>;
  close(): Promise<void>;
}

export function emSide(port: number): LockSide {
  return {
    label: "emd",
    async open() {
      const client: EmClient = await connect({ port });
      const holds = new Map<string, { release(): Promise<void> }>();
      return {
        async lock(name) {
          holds.set(name, await client.lock(name));
        },
        async unlock(name) {
          await holds.get(name)!.release();
          holds.delete(name);
        },
        close: () => client.close(),
      };
    },
  };
}

/**
 * emd without its client library: the same `k` and `v` requests written as raw lines on one
 * socket, for where the time goes (uncontended only: it expects the grant as the next line).
 */
export function emRawSide(port: number): LockSide {
  let seq = 0;
  return {
    label: "emd raw",
    async open() {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.setNoDelay(true);
      const lines = new RawLines(conn);
      await lines.write("H1.2\n");
      await lines.next(); // the server's hello
      const tokens = new Map<string, string>();
      const ask = async (line: string, expect: string) => {
        await lines.write(line);
        const answer = await lines.next();
        if (answer[0] !== expect) {
          throw new Error(`Unexpected answer "${answer}"`);
        }
        return answer;
      };
      return {
        async lock(name) {
          const grant = await ask(`ks${++seq},${name},1,1\n`, "g");
          tokens.set(name, grant.slice(grant.lastIndexOf(",") + 1));
        },
        async unlock(name) {
          await ask(`vs${++seq},${name},${tokens.get(name)}\n`, "o");
          tokens.delete(name);
        },
        close: () => Promise.resolve(conn.close()),
      };
    },
  };
}

/** Lines from a socket, one at a time. */
class RawLines {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(4096);
  #text = "";
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  async write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) {
      done += await this.#conn.write(bytes.subarray(done));
    }
  }
  async next(): Promise<string> {
    for (;;) {
      const end = this.#text.indexOf("\n");
      if (end !== -1) {
        const line = this.#text.slice(0, end);
        this.#text = this.#text.slice(end + 1);
        return line;
      }
      const count = await this.#conn.read(this.#buffer);
      if (count === null) throw new Error("Connection closed");
      this.#text += decoder.decode(this.#buffer.subarray(0, count));
    }
  }
}

const encoder = new TextEncoder(), decoder = new TextDecoder();

export function redisSide(port: number): LockSide {
  let seq = 0;
  return {
    label: "redis",
    async open() {
      const redis = await RespClient.connect(port);
      const tokens = new Map<string, string>();
      return {
        async lock(name) {
          const token = `t${++seq}`;
          while (true) {
            const set = await redis.command(
              "SET",
              name,
              token,
              "NX",
              "PX",
              REDIS_TTL_MS,
            );
            if (set === "OK") {
              tokens.set(name, token);
              return;
            }
          }
        },
        async unlock(name) {
          const token = tokens.get(name)!;
          tokens.delete(name);
          await redis.command("EVAL", RELEASE_SCRIPT, "1", name, token);
        },
        close: () => Promise.resolve(redis.close()),
      };
    },
  };
}
