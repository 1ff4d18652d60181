/**
 * What the soak's clients do, one life at a time (connect, hello, act, disconnect), and the ledger
 * that checks them: every acknowledged trigger reached every receiver subscribed before it was sent
 * and still connected after its acknowledgement, and no lock was ever held by two clients at once.
 * @module
 */
import { pause } from "./_deadline.ts";
import { type Answer, SoakConn } from "./_soak_conn.ts";

/** The event every sender triggers and every receiver and waiter expects. */
export const EVENT = "soak_ev";
const LOCKS = 10;

/** An acknowledged trigger: its sequence number, when it was written and when its `r` came. */
interface Acked {
  readonly seq: number;
  readonly sentAt: number;
  readonly ackAt: number;
}

/** The soak's shared state: what was acknowledged, who holds which lock, what went wrong. */
export class Ledger {
  readonly acked: Acked[] = []; // in order of acknowledgement
  readonly holders: (number | undefined)[] = Array(LOCKS).fill(undefined);
  readonly counts = {
    lives: { receiver: 0, waiter: 0, sender: 0, locker: 0 },
    abrupt: 0,
    triggersAcked: 0,
    deliveriesChecked: 0,
    waitsChecked: 0,
    locksGranted: 0,
    connectFailures: 0,
    violations: 0,
  };
  readonly violations: string[] = [];
  #seq = 0;
  #triggersPerSecond: number;
  /** Senders alive now: each pauses for their number over the rate, so together they keep it. */
  senders = 0;

  constructor(triggersPerSecond: number) {
    this.#triggersPerSecond = triggersPerSecond;
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  /** A sender's pause before its next trigger: all senders together keep about the rate. */
  turn(): Promise<void> {
    const meanMs = (this.senders * 1000) / this.#triggersPerSecond;
    const exponential = -Math.log(1 - Math.random()) * meanMs; // a Poisson stream
    return pause(Math.min(exponential, MAX_SENDER_PAUSE_MS));
  }

  violation(text: string): void {
    this.counts.violations++;
    if (this.violations.length < 50) {
      this.violations.push(`${new Date().toISOString()} ${text}`);
    }
  }

  /** The acknowledged triggers sent at or after `from` and acknowledged at or before `to`. */
  *window(from: number, to: number): Generator<Acked> {
    let low = 0, high = this.acked.length; // first acknowledged at or after `from`
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.acked[mid]!.ackAt < from) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < this.acked.length; i++) {
      const t = this.acked[i]!;
      if (t.ackAt > to) break;
      if (t.sentAt >= from) yield t;
    }
  }
}

/** Senders never pause longer: a life must end, whatever the rate asks. */
const MAX_SENDER_PAUSE_MS = 5_000;

type Role = "receiver" | "waiter" | "sender" | "locker";
const ROLES: readonly [Role, number][] = [
  ["receiver", 0.5],
  ["waiter", 0.15],
  ["sender", 0.05],
  ["locker", 0.3],
];

const between = (low: number, high: number) =>
  low + Math.random() * (high - low);

function pickRole(): Role {
  let r = Math.random();
  for (const [role, weight] of ROLES) {
    if ((r -= weight) < 0) return role;
  }
  return "receiver";
}

/** One client slot of the soak: lives one after another until `until` (performance.now()). */
export async function churn(
  port: number,
  ledger: Ledger,
  until: number,
  open: { count: number },
): Promise<void> {
  while (performance.now() < until) {
    const role = pickRole();
    let conn: SoakConn;
    try {
      conn = await SoakConn.open(port);
    } catch (error) {
      ledger.counts.connectFailures++;
      if (ledger.counts.connectFailures <= 5) {
        ledger.violation(`cannot connect: ${(error as Error).message}`);
      }
      await pause(100);
      continue;
    }
    open.count++;
    try {
      await lifeWithDeadline(conn, role, ledger);
    } finally {
      open.count--;
    }
    ledger.counts.lives[role]++;
    await pause(between(200, 2_000));
  }
}

const LIFE_DEADLINE_MS = 120_000;

async function lifeWithDeadline(conn: SoakConn, role: Role, ledger: Ledger) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<"stuck">((resolve) => {
    timer = setTimeout(() => resolve("stuck"), LIFE_DEADLINE_MS);
  });
  const held = { lock: undefined as number | undefined };
  const outcome = await Promise.race([
    LIVES[role](conn, ledger, held).catch((error: Error) => {
      ledger.violation(`a ${role} was answered wrongly: ${error.message}`);
      return "ok" as const;
    }),
    stuck,
  ]);
  clearTimeout(timer);
  if (outcome === "stuck") {
    ledger.violation(`a ${role} got no answer for ${LIFE_DEADLINE_MS} ms`);
  }
  if (outcome === "lost") {
    ledger.violation(`emd closed a well-behaved ${role}`);
  }
  if (held.lock !== undefined) ledger.holders[held.lock] = undefined; // just before the end frees it
  // the end: abrupt (half of them, some mid-message) or polite
  if (Math.random() < 0.5) {
    ledger.counts.abrupt++;
    await conn.abort(Math.random() < 0.3);
  } else await conn.close();
}

type Life = (
  conn: SoakConn,
  ledger: Ledger,
  held: { lock: number | undefined },
) => Promise<"ok" | "lost">;

async function hello(conn: SoakConn, flags: string): Promise<boolean> {
  await conn.send(`H1.2;asoak\n${flags}`);
  await conn.hello;
  return !conn.closed;
}

/** Asks and checks the answer's letter; undefined when the connection ended first. */
async function ask(
  conn: SoakConn,
  letter: string,
  rest: string,
  expect: string,
): Promise<Answer | undefined> {
  const answer = await conn.request(letter, rest);
  if (answer !== undefined && answer.letter !== expect) {
    throw new Error(`"${letter}" answered "${answer.letter}${answer.params}"`);
  }
  return answer;
}

const LIVES: Record<Role, Life> = {
  async receiver(conn, ledger) {
    const seen = new Set<number>();
    conn.onLine = (line) => {
      if (line.startsWith(`d${EVENT},`)) {
        seen.add(Number(line.slice(EVENT.length + 2)));
      }
    };
    if (!await hello(conn, "F1\n")) return "lost";
    if (await ask(conn, "s", EVENT, "r") === undefined) return "lost";
    const subscribedAt = performance.now();
    await pause(between(1_000, 8_000));
    const flushAt = performance.now();
    if (await ask(conn, "p", "", "p") === undefined) return "lost";
    for (const t of ledger.window(subscribedAt, flushAt)) {
      ledger.counts.deliveriesChecked++;
      if (!seen.has(t.seq)) {
        ledger.violation(
          `receiver missed acknowledged trigger ${t.seq} (subscribed ${
            (t.sentAt - subscribedAt).toFixed(1)
          } ms before it was sent, flushed ${
            (flushAt - t.ackAt).toFixed(1)
          } ms after its acknowledgement)`,
        );
      }
    }
    return "ok";
  },

  async waiter(conn, ledger) {
    let plain = 0; // not subscribed: each trigger with data arrives as a plain T
    conn.onLine = (line) => {
      if (line === `T${EVENT}`) plain++;
    };
    if (!await hello(conn, "F1\n")) return "lost";
    if (await ask(conn, "p", "", "p") === undefined) return "lost";
    const readyAt = performance.now(), before = plain;
    await pause(between(500, 4_000));
    const flushAt = performance.now();
    if (await ask(conn, "p", "", "p") === undefined) return "lost";
    let expected = 0;
    for (const _ of ledger.window(readyAt, flushAt)) expected++;
    ledger.counts.waitsChecked++;
    if (plain - before < expected) {
      ledger.violation(
        `waiter saw ${
          plain - before
        } triggers, ${expected} were acknowledged while it waited`,
      );
    }
    return "ok";
  },

  async sender(conn, ledger) {
    ledger.senders++;
    try {
      return await send(conn, ledger);
    } finally {
      ledger.senders--;
    }
  },

  async locker(conn, ledger, held) {
    if (!await hello(conn, "")) return "lost";
    for (let n = Math.ceil(between(0, 4)); n > 0; n--) {
      const lock = Math.floor(Math.random() * LOCKS);
      const name = `soak/lock-${lock}`;
      const grant = await ask(conn, "k", `${name},1,1`, "g");
      if (grant === undefined) return "lost";
      const me = ledger.counts.locksGranted++;
      if (ledger.holders[lock] !== undefined) {
        ledger.violation(`${name} granted while held by another client`);
      }
      ledger.holders[lock] = me;
      held.lock = lock;
      await pause(between(0, 20));
      if (Math.random() < 0.2) return "ok"; // leave holding it: the abrupt or polite end frees it
      ledger.holders[lock] = undefined; // before the server can hand it on
      held.lock = undefined;
      const done = await ask(conn, "v", `${name},${grant.params[0]}`, "o");
      if (done === undefined) return "lost";
    }
    return "ok";
  },
};

async function send(conn: SoakConn, ledger: Ledger): Promise<"ok" | "lost"> {
  if (!await hello(conn, "")) return "lost";
  for (let n = Math.ceil(between(0, 3)); n > 0; n--) {
    await ledger.turn();
    const seq = ledger.nextSeq();
    const sentAt = performance.now();
    const answer = await ask(conn, "t", `${EVENT},${seq}`, "r");
    if (answer === undefined) return "lost";
    ledger.acked.push({ seq, sentAt, ackAt: performance.now() });
    ledger.counts.triggersAcked++;
  }
  return "ok";
}
