// Managed network endpoints of the agent: POST /networks/bridge/{ensure,delete,leases}. The agent makes the host's
// part of a managed bridge — the Linux bridge and its address, a supervised dnsmasq (DHCP and DNS), nftables NAT —
// and reconciles it when asked again (idempotent).

export interface AgentBridgeStaticLease {
  hwaddr: string;
  address: string;
  hostname: string;
}

/** POST /networks/bridge/ensure */
export interface AgentBridgeNetworkSpec {
  name: string;
  /** `bridge.mtu`; 0 = the kernel's default. */
  mtu: number;
  /** The bridge's IPv4 address in CIDR notation (`ipv4.address`), or null for none (no DHCP, no NAT). */
  ipv4: {
    address: string;
    nat: boolean;
    dhcp: boolean;
    /** dnsmasq ranges "first-last" (`ipv4.dhcp.ranges`, comma-separated); empty = the whole subnet but the gateway. */
    dhcpRanges: string[];
    /** `ipv4.dhcp.expiry` as dnsmasq takes it ("1h", "30m"...). */
    leaseTime: string;
  } | null;
  /** `dns.domain` (LXD's default "lxd"). */
  dnsDomain: string;
  /** NICs with `ipv4.address` on this network: always given that address (dnsmasq dhcp-host). */
  staticLeases: AgentBridgeStaticLease[];
}

/** A DHCP lease as dnsmasq records it. */
export interface AgentBridgeLease {
  hwaddr: string;
  address: string;
  hostname: string;
  /** Unix seconds; 0 = infinite. */
  expiry: number;
}
