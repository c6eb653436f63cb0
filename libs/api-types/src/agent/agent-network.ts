// Managed network endpoints of the agent: POST /networks/bridge/{ensure,delete,leases}. The agent makes the host's
// part of a managed bridge — the Linux bridge and its address, a supervised dnsmasq (DHCP and DNS), nftables NAT —
// and reconciles it when asked again (idempotent). NICs with `network` and `ipv4.address` get that address: the agent
// writes a dnsmasq dhcp-host file per NIC (`dnsmasq.hosts/<lxcName>.<device>`) when the container starts.

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
  /**
   * The network's ACLs (`security.acls`), applied where the bridge meets the host (LXD's bridge semantics): egress
   * rules to traffic from the bridge, ingress rules to traffic into it; null = no ACL, everything passes.
   */
  acls: AgentBridgeAcls | null;
}

/** A rule as nftables is given it (validated by the API). */
export interface AgentAclRule {
  action: 'allow' | 'reject' | 'drop';
  logged: boolean;
  /** Addresses, CIDRs or ranges ("a-b"); empty = any. */
  source: string[];
  destination: string[];
  protocol: '' | 'icmp4' | 'icmp6' | 'tcp' | 'udp';
  sourcePorts: string[];
  destinationPorts: string[];
  icmpType: string;
  icmpCode: string;
}

export interface AgentBridgeAcls {
  ingress: AgentAclRule[];
  egress: AgentAclRule[];
  /** What unmatched traffic gets (`security.acls.default.{ingress,egress}.action`, LXD's default reject). */
  defaultIngress: 'allow' | 'reject' | 'drop';
  defaultEgress: 'allow' | 'reject' | 'drop';
}

/** A DHCP lease as dnsmasq records it. */
export interface AgentBridgeLease {
  hwaddr: string;
  address: string;
  hostname: string;
  /** Unix seconds; 0 = infinite. */
  expiry: number;
}
