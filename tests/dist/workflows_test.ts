import assert from "node:assert/strict";
import { parse } from "npm:yaml@^2.9.1";
import { fileURLToPath } from "node:url";
import { PERMISSIONS } from "../../cli/compile.ts";
import { closedPort, runProgram, runTool, toolEnv } from "../_helpers/cli.ts";

const root = new URL("../../", import.meta.url);
const TEST_COMMAND = "npx -y deno@2.9.6 task test"; // the README's test command

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  "working-directory"?: string;
}
interface Job {
  "runs-on": string;
  strategy?: { matrix: { os: string[] } };
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

async function workflow(name: string): Promise<Workflow> {
  const text = await Deno.readTextFile(
    new URL(`.github/workflows/${name}`, root),
  );
  return parse(text) as Workflow;
}

function step(job: Job, name: string): Step {
  const found = job.steps.find((s) => s.name === name);
  assert.ok(
    found,
    `no step "${name}" in ${JSON.stringify(job.steps.map((s) => s.name))}`,
  );
  return found;
}

Deno.test("workflows: the README's test command is the one ci.yml and .ci/run use", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  assert.ok(readme.includes(TEST_COMMAND), "README lost its test command");
  const ciRun = await Deno.readTextFile(new URL(".ci/run", root));
  assert.match(ciRun, /DENO_VERSION=2\.9\.6\n/);
  assert.match(ciRun, /\nnpx -y deno@\$\{DENO_VERSION\} task test /);
});

Deno.test("workflows: ci.yml tests on Linux, macOS and Windows on push and pull request", async () => {
  const ci = await workflow("ci.yml");
  assert.deepEqual(Object.keys(ci.on).sort(), ["pull_request", "push"]);
  const test = ci.jobs.test!;
  assert.deepEqual(test.strategy?.matrix.os, [
    "ubuntu-latest",
    "macos-latest",
    "windows-latest",
  ]);
  assert.equal(test["runs-on"], "${{ matrix.os }}");
  assert.equal(step(test, "checkout").uses, "actions/checkout@v4");
  assert.deepEqual(step(test, "test (Linux)"), {
    name: "test (Linux)",
    if: "runner.os == 'Linux'",
    run: "bash .ci/run",
  });
  assert.deepEqual(step(test, "test"), {
    name: "test",
    if: "runner.os != 'Linux'",
    run: TEST_COMMAND,
  });
  const checks = ci.jobs.checks!;
  for (const name of ["fmt", "lint", "type check", "doc lint"]) {
    assert.match(step(checks, name).run ?? "", /^npx -y deno@2\.9\.6 /);
  }
});

Deno.test("workflows: ci.yml runs the compiled-binary test with a downloaded DENORT_BIN", async () => {
  const compiled = (await workflow("ci.yml")).jobs.compiled!;
  assert.equal(compiled["runs-on"], "ubuntu-latest");
  assert.match(
    step(compiled, "base binary").run ?? "",
    /DENORT_BIN=.+>> "\$GITHUB_ENV"/,
  );
  assert.match(
    step(compiled, "compiled-binary test").run ?? "",
    /tests\/dist\/compile_test\.ts$/,
  );
});

Deno.test("workflows: release.yml on a v* tag builds every target, checksums and publishes", async () => {
  const release = await workflow("release.yml");
  assert.deepEqual(release.on, { push: { tags: ["v*"] } });
  assert.deepEqual(release.permissions, { contents: "write" });
  const job = release.jobs.release!;
  const names = job.steps.map((s) => s.name);
  assert.deepEqual(names, [
    "checkout",
    "node",
    "version matches tag",
    "test",
    "build all targets",
    "smoke test",
    "checksums",
    "publish",
  ]);
  assert.equal(step(job, "test").run, TEST_COMMAND);
  assert.equal(
    step(job, "build all targets").run,
    "npx -y deno@2.9.6 task compile --target all",
  );
  const checksums = step(job, "checksums");
  assert.equal(checksums["working-directory"], "dist");
  assert.match(checksums.run ?? "", /^sha256sum em-\* > SHA256SUMS/);
  const publish = step(job, "publish");
  assert.match(publish.run ?? "", /^gh release create "\$GITHUB_REF_NAME" /);
  assert.match(publish.run ?? "", / dist\/em-\* dist\/SHA256SUMS install\.sh$/);
  assert.equal(publish.env?.GH_TOKEN, "${{ github.token }}");
});

Deno.test("workflows: the CI example starts emd, coordinates parallel work and stops it", async () => {
  const text = await Deno.readTextFile(
    new URL("examples/ci/github-actions.yml", root),
  );
  const example = parse(text) as Workflow;
  const pipeline = example.jobs.pipeline!;
  assert.match(step(pipeline, "install em").run ?? "", /install\.sh/);
  assert.match(
    step(pipeline, "start emd").run ?? "",
    /^nohup emd -q --port-file \S+ 4000 ci .*&$/m,
  );
  assert.match(step(pipeline, "parallel work").run ?? "", /emwait .+ &\n/);
  assert.deepEqual(step(pipeline, "the same as one script"), {
    name: "the same as one script",
    run: "sh examples/ci/pipeline.sh",
    env: { EM: "em" },
  });
  assert.deepEqual(step(pipeline, "stop emd"), {
    name: "stop emd",
    if: "always()",
    run: "emquit 127.0.0.1 4000 ci || true",
  });
  // build and test run at once on runners sharing one emd: no "needs" orders them
  for (const name of ["build", "test"]) {
    const job = example.jobs[name]! as Job & { needs?: unknown };
    assert.equal(job.needs, undefined);
    assert.deepEqual(job["runs-on"], ["self-hosted", "em"]);
  }
  assert.match(
    step(example.jobs.build!, "announce build_done").run ?? "",
    /emtrigger /,
  );
  assert.match(
    step(example.jobs.test!, "wait for the build").run ?? "",
    /^emwait /,
  );
});

/**
 * Runs the CI example's "start emd" step as GitHub would (`bash -e`), with `emd` on PATH, the
 * example's port 4000 replaced by `port` and its 30 s bound by `boundSeconds`.
 */
async function startStep(
  port: number,
  boundSeconds: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const example = parse(
    await Deno.readTextFile(new URL("examples/ci/github-actions.yml", root)),
  ) as Workflow;
  const script = step(example.jobs.pipeline!, "start emd").run ?? "";
  assert.match(script, /timeout 30 /);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/emd`,
      `#!/bin/sh\nexec "${Deno.execPath()}" run --quiet ${
        PERMISSIONS.join(" ")
      } "${fileURLToPath(new URL("cli/main.ts", root))}" emd "$@"\n`,
    );
    await Deno.chmod(`${dir}/bin/emd`, 0o755);
    return await runProgram("bash", {
      args: [
        "-e",
        "-c",
        script.replaceAll("4000", String(port)).replace(
          "timeout 30 ",
          `timeout ${boundSeconds} `,
        ),
      ],
      env: toolEnv({
        RUNNER_TEMP: dir,
        PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
      }),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "workflows: the CI example's start step returns once emd listens (FIFO, no polling)",
  ignore: Deno.build.os === "windows",
  async fn() {
    const port = closedPort();
    const started = await startStep(port, 30);
    try {
      assert.equal(started.code, 0, started.stdout + started.stderr);
      // emd is listening the moment the step returns: no retry here
      const trigger = await runTool(["emtrigger", "127.0.0.1", `${port}`, "x"]);
      assert.equal(trigger.code, 0, trigger.stderr);
    } finally {
      const quit = await runTool(["emquit", "127.0.0.1", `${port}`, "ci"]);
      assert.equal(quit.code, 0, quit.stderr);
    }
  },
});

Deno.test({
  name:
    "workflows: the CI example's start step fails within its bound, showing emd's log, when emd cannot listen",
  ignore: Deno.build.os === "windows",
  async fn() {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const started = await startStep((taken.addr as Deno.NetAddr).port, 2);
    assert.equal(started.code, 1);
    assert.match(
      started.stdout,
      /^emd: Cannot listen on .*Address already in use/,
    );
  },
});
