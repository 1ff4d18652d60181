/**
 * A clustered emd's latch look-ups read what the cluster acknowledged: they ask the latches
 * bucket's leader, never a replica directly. With @nats-io/kv's default (direct gets), a replica
 * that was behind answered a latch reset and acknowledged on another node as still set (seen once
 * in 12 side-by-side runs of cluster_test.ts, "latches are cluster-wide").
 */
import assert from "node:assert/strict";
import {
  hasNatsServer,
  startNatsCluster,
} from "../../../bench/_nats_cluster.ts";
import { connect, Kvm } from "../../../server/delivery/_nats.ts";
import { NatsLatches } from "../../../server/delivery/nats_latches.ts";
import { until } from "../../_helpers/until.ts";

Deno.test({
  name:
    "nats latches: look-ups ask the bucket's leader, also in a bucket created with direct gets",
  ignore: !hasNatsServer(),
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  await using nats = await startNatsCluster();
  const servers = nats.urls.split(",");
  const nc = await connect({ servers });
  const spy = await connect({ servers: servers[0] });
  try {
    // A bucket as an emd that let @nats-io/kv choose created it: direct gets allowed.
    await new Kvm(nc).create("em_older_latches", {
      replicas: 3,
      storage: "file",
      history: 1,
      allow_direct: true,
    });
    const asked: string[] = [];
    spy.subscribe("$JS.API.>", {
      callback: (_error, msg) => void asked.push(msg.subject),
    });
    await spy.flush();
    for (const name of ["fresh", "older"]) {
      const latches = await NatsLatches.open(nc, name, {
        replicas: 3,
        connected: () => true,
      });
      await latches.set("deploy_ok");
      assert.equal(await latches.firstSet(["nope", "deploy_ok"]), "deploy_ok");
      await latches.clear("deploy_ok");
      assert.equal(await latches.firstSet(["deploy_ok"]), undefined);
    }
    const gets = () => asked.filter((subject) => subject.includes(".GET."));
    await until(
      () => gets().length >= 6,
      "the six look-ups seen on $JS.API",
    );
    assert.deepEqual(
      gets().filter((subject) =>
        !subject.startsWith("$JS.API.STREAM.MSG.GET.")
      ),
      [],
      "a look-up went to a replica directly",
    );
  } finally {
    await spy.close();
    await nc.close();
  }
});
