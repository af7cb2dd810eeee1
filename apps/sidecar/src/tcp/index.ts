// Raw TCP pass-through for the sidecar: Envoy's tcp_proxy for one connection, CONNECT tunnels
// through the explicit proxy, dedicated TCP listeners and local upstream bindings. See README.md.
export { chooseTcpCluster, type TcpChoice, type TcpSnapshot, type TcpTarget } from "./choose-tcp-cluster.ts";
export { handleConnectTunnel, parseAuthority, type ConnectTunnelOptions } from "./connect-tunnel.ts";
export { defaultMaxConnectAttempts, proxyTcp, TcpProxy, type TcpProxyEnvironment, type TcpProxyOptions } from "./tcp-proxy.ts";
export { maxClientHelloBytes, readClientHelloSni, type ClientHelloScan } from "./read-client-hello-sni.ts";
export { emptyTcpRecord, type TcpRecord } from "./tcp-record.ts";
export { startTcpListener, TcpListener, type TcpListenerOptions } from "./tcp-listener.ts";
export { bindingChooser, parseTcpUpstreamBinding, type ParsedBinding, type TcpUpstreamBinding } from "./tcp-upstream-binding.ts";
export { InboundTcpListeners, isInboundTcpPort, type InboundTcpOptions } from "./inbound-tcp-listeners.ts";
export { InboundTcpTls, serverFirstWaitMs, type ServeTcp } from "./inbound-tcp-tls.ts";
