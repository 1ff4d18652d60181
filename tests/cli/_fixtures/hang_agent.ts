// An agent whose verb "forever" never answers (it broadcasts "hang/started" first): a call of it
// is in flight when its node dies.
import { defineAgent } from "../../../mod.ts";

export default defineAgent({
  api: "hang",
  verbs: {
    forever: (_req, ctx) => {
      ctx.broadcastEvent("started");
      return new Promise(() => {});
    },
    ping: () => "pong",
  },
});
