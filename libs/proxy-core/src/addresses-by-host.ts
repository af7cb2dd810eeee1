// The virtual addresses of each service host of a proxy's config, for the TCP route table
// (connections to a service's address are the service's, whatever port list defined it).
import type { ServicePort } from "./proxy-config.ts";

/** Host → its addresses (ServicePort.addresses of all its ports, each once, in service order); hosts without any are absent. */
export function addressesByHost(services: readonly ServicePort[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const service of services) {
    if (service.addresses === undefined) continue;
    let list = out.get(service.host);
    if (list === undefined) {
      list = [];
      out.set(service.host, list);
    }
    for (const address of service.addresses) if (!list.includes(address)) list.push(address);
  }
  return out;
}
