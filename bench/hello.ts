// The floor of any Deno tool: a whole `deno run` of a file that only prints (one-shot workload).
// deno-lint-ignore no-console
console.log("hello, world");
