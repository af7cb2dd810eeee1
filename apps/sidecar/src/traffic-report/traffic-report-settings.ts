// The traffic report's flag, spread into the sidecar's settings (sidecar-settings.ts).
import { defineSettings } from "@meshwork/runtime";

export const trafficReportSettings = defineSettings({
  trafficReportSeconds: {
    type: "number",
    default: 5,
    env: "MESHWORK_TRAFFIC_REPORT_SECONDS",
    valueName: "SECONDS",
    description: "Managed mode: every SECONDS report request counts, duration buckets and the SVID to the control plane on the discovery stream (the console's default traffic source); 0 turns reports off.",
  },
});
