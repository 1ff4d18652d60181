// Flow control with stall allowances (--stall-allowance-bytes, --stall-budget-bytes): a receiver that
// falls silent may hold more than its limit for a while instead of holding the senders back.
import assert from "node:assert/strict";
import {
  FlowControl,
  GAP_FACTOR,
  STALL_MS,
} from "../../server/flow_control.ts";
import {
  backloggedReaders,
  HIGH,
  holdsSendersBack,
  KIB,
  LIMIT,
  ManualClock,
  MIB,
  queue,
  readSlowly,
  Receiver,
  wrote,
} from "./_flow_control_fixture.ts";

/** Flow control as emd builds it: suspects get an allowance, within a budget. */
function withAllowance(
  clock: ManualClock,
  allowanceBytes = 8 * MIB,
  budgetBytes = 2 * allowanceBytes,
): FlowControl {
  return new FlowControl(HIGH, { clock, allowanceBytes, budgetBytes });
}

/** Queues `bytes` onto `receiver` in 64 KiB frames, as a fan-out does. */
function flood(flow: FlowControl, receiver: Receiver, bytes: number): void {
  for (let left = bytes; left > 0; left -= 64 * KIB) {
    queue(flow, receiver, Math.min(left, 64 * KIB));
  }
}

/** Bytes the receivers hold past their connections' limit: what the budget bounds. */
function pastLimits(receivers: Receiver[]): number {
  let bytes = 0;
  for (const r of receivers) {
    if (!r.isClosed) bytes += Math.max(0, r.queuedBytes - LIMIT);
  }
  return bytes;
}

/** `receiver` falls behind (it holds the senders back) and stays silent for a reader's longest gap. */
function suspect(
  flow: FlowControl,
  clock: ManualClock,
  ...receivers: Receiver[]
): void {
  for (const receiver of receivers) queue(flow, receiver, HIGH + 64 * KIB);
  assert.ok(
    flow.paused !== undefined,
    "falling behind, it holds the senders back at first",
  );
  clock.advance(flow.stallMs / GAP_FACTOR + 100);
}

Deno.test("flow control: with allowances, receivers that fall behind and read hold the senders back, as without", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const readers = backloggedReaders(flow, 3);
  // Readers slower than the senders: they pace them, or the senders bury them in data.
  assert.ok(flow.paused !== undefined);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 300 });
  for (const reader of readers) assert.ok(holdsSendersBack(flow, reader));
  assert.equal(
    flow.budgetLeftBytes,
    16 * MIB,
    "no reader was granted anything",
  );
  flow.stop();
});

Deno.test("flow control: a receiver silent for a reader's longest gap holds nobody back within its allowance, and is still judged", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const stopped = new Receiver();
  suspect(flow, clock, stopped); // 1 s on a fresh server: a third of the verdict
  assert.equal(flow.paused, undefined, "the senders go on");
  const pressure = flow.pressure;
  flood(flow, stopped, 4 * MIB); // four times its connection's limit
  assert.equal(flow.paused, undefined);
  assert.equal(flow.pressure, pressure, "its output makes nobody wait");
  assert.equal(stopped.cut, false, "not cut off while the verdict is out");
  // The verdict comes as without allowances (3 × STALL_MS on a fresh server), and cuts it off.
  clock.advance(GAP_FACTOR * STALL_MS - STALL_MS - 400);
  assert.equal(stopped.cut, false);
  clock.advance(400);
  assert.equal(
    stopped.cut,
    true,
    "judged stopped: cut off, it holds more than its limit",
  );
  assert.equal(
    flow.budgetLeftBytes,
    16 * MIB,
    "its grant went back to the budget",
  );
});

Deno.test("flow control: a suspect that reads after holding more than its limit holds the senders back again and is never cut off", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const readers = backloggedReaders(flow, 2);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 900 });
  // A receiver falls behind and gets no CPU for two of the readers' gaps: a suspect…
  const starved = new Receiver();
  queue(flow, starved, HIGH + 64 * KIB);
  readSlowly(flow, clock, readers, { ms: 2 * 900, gapMs: 900 });
  flood(flow, starved, 3 * MIB);
  assert.equal(holdsSendersBack(flow, starved), false);
  assert.equal(starved.cut, false);
  // …then reads on, slowly: from its first completed write it holds the senders back.
  wrote(flow, starved, 100 * KIB);
  assert.ok(holdsSendersBack(flow, starved));
  const all = [...readers, starved];
  readSlowly(flow, clock, all, { ms: 20_000, gapMs: 900 });
  assert.equal(starved.cut, false, "a reader was cut off");
  for (const reader of all) wrote(flow, reader, reader.queuedBytes);
  assert.equal(flow.paused, undefined);
  assert.equal(flow.budgetLeftBytes, 16 * MIB, "every grant went back");
});

Deno.test("flow control: a suspect that fills its allowance holds the senders back until it is judged, then is cut off", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock, 2 * MIB);
  const stopped = new Receiver();
  suspect(flow, clock, stopped);
  flood(flow, stopped, 2 * MIB - 64 * KIB); // its whole allowance
  assert.equal(flow.paused, undefined);
  queue(flow, stopped, 64 * KIB); // past it
  assert.ok(flow.paused !== undefined, "from now on it holds the senders back");
  assert.ok(holdsSendersBack(flow, stopped));
  // The senders' reads in flight still reach it: the usual room between the marks, not a cut.
  flood(flow, stopped, LIMIT - HIGH - 128 * KIB);
  assert.equal(stopped.cut, false);
  clock.advance(GAP_FACTOR * STALL_MS);
  assert.equal(flow.paused, undefined, "judged: the senders go on");
  assert.equal(stopped.cut, true);
});

Deno.test("flow control: the budget bounds what a suspect holds; past it, it holds the senders back and is cut off at its limit and grant", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock, 4 * MIB, MIB);
  const stopped = new Receiver();
  suspect(flow, clock, stopped);
  flood(flow, stopped, MIB - 64 * KIB); // all of the budget, a quarter of its allowance
  assert.equal(flow.paused, undefined);
  assert.equal(flow.budgetLeftBytes, 0);
  queue(flow, stopped, 64 * KIB);
  assert.ok(
    flow.paused !== undefined,
    "the budget is spent: it holds the senders back",
  );
  for (let i = 0; i < 100 && !stopped.cut; i++) {
    queue(flow, stopped, 64 * KIB);
    assert.ok(pastLimits([stopped]) <= MIB, `${pastLimits([stopped])} bytes`);
  }
  assert.equal(stopped.cut, true, "cut off past its limit and grant");
  assert.equal(flow.paused, undefined);
  assert.equal(flow.budgetLeftBytes, MIB);
});

Deno.test("flow control: a suspect that found the budget spent stops holding the senders back once some is freed", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock, 2 * MIB, 2 * MIB);
  const [a, b] = [new Receiver(), new Receiver()];
  suspect(flow, clock, a);
  flood(flow, a, 2 * MIB - 64 * KIB); // all of the budget
  wrote(flow, a, 64 * KIB); // a reads after all: it holds the senders back, keeps its grant
  queue(flow, b, HIGH + 64 * KIB);
  for (let ms = 0; ms < STALL_MS + 200; ms += 100) { // b alone is silent
    clock.advance(100);
    wrote(flow, a, 1);
  }
  flood(flow, b, 512 * KIB); // more than the budget has left
  assert.ok(holdsSendersBack(flow, b), "nothing left for b");
  wrote(flow, a, a.queuedBytes); // a catches up: its grant goes back
  clock.advance(200); // the next tick hands it to b
  assert.equal(flow.paused, undefined, "b still holds the senders back");
  flood(flow, b, MIB);
  assert.equal(flow.paused, undefined);
  assert.equal(b.cut, false);
  flow.stop();
});

Deno.test("flow control: receivers silent together are not suspects: they hold the senders back, as without allowances", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const [a, b] = [new Receiver(), new Receiver()];
  queue(flow, a, HIGH + 64 * KIB);
  queue(flow, b, HIGH + 64 * KIB);
  // A starved process leaves many receivers silent at once: letting the senders go would
  // starve it further.
  for (let ms = 0; ms < 2 * STALL_MS; ms += 100) {
    clock.advance(100);
    assert.ok(holdsSendersBack(flow, a) && holdsSendersBack(flow, b));
  }
  wrote(flow, b, 64 * KIB); // b reads: a alone is silent now
  clock.advance(200);
  assert.equal(holdsSendersBack(flow, a), false, "a alone: a suspect");
  flow.stop();
});

Deno.test("flow control: with allowances, a receiver that stops among readers is judged on time and cut off; the readers are not", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const readers = backloggedReaders(flow, 3);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 300 });
  const stopped = new Receiver();
  queue(flow, stopped, HIGH + 64 * KIB);
  const stallMs = flow.stallMs;
  readSlowly(flow, clock, readers, {
    ms: stallMs / GAP_FACTOR + 200,
    gapMs: 300,
  });
  assert.equal(holdsSendersBack(flow, stopped), false, "a suspect");
  flood(flow, stopped, 2 * MIB); // it takes this without a cut
  readSlowly(flow, clock, readers, {
    ms: stallMs - (stallMs / GAP_FACTOR + 200) - 300,
    gapMs: 300,
  });
  assert.equal(stopped.cut, false, "cut off before the verdict");
  readSlowly(flow, clock, readers, { ms: 600, gapMs: 300 });
  assert.equal(stopped.cut, true, "not judged after the verdict");
  assert.ok(readers.every((reader) => !reader.cut));
  for (const reader of readers) assert.ok(holdsSendersBack(flow, reader));
  flow.stop();
});

Deno.test("flow control: a receiver judged stopped below its limit is not cut off until it passes it", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const stopped = new Receiver();
  flood(flow, stopped, HIGH + 128 * KIB);
  clock.advance(GAP_FACTOR * STALL_MS + 200);
  assert.equal(stopped.cut, false);
  flood(flow, stopped, LIMIT - stopped.queuedBytes);
  assert.equal(stopped.cut, false);
  queue(flow, stopped, 1);
  assert.equal(stopped.cut, true, "no allowance left once judged");
  assert.equal(flow.paused, undefined);
});
