import type { Feature, FeatureHost } from "../feature.ts";
import { observabilityResponse } from "./http_routes.ts";

/**
 * Observability on the HTTP listener (`emd --http`): `/metrics`, `/healthz`, `/readyz` and the
 * dashboard, answered from the server's report; every other path is left to other handlers.
 */
export function metricsFeature(host: FeatureHost): Feature {
  return {
    serveHttp: (request) =>
      observabilityResponse(request, {
        stats: (detail) => host.stats!(detail),
        readiness: host.readiness!,
        ...(host.options.secret === undefined
          ? {}
          : { secret: host.options.secret }),
      }),
  };
}
