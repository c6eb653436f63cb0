// Warning type codes, names and severities as LXD stores and shows them (lxd/db/warningtype in LXD 5.0.2). The codes
// are persisted in warnings.type_code, so their numbering must not change.
import type { WarningSeverity, WarningStatus } from '@lxdts/api-types';

export const WarningType = {
  Undefined: 0,
  MissingCGroupBlkio: 1,
  MissingCGroupBlkioWeight: 2,
  MissingCGroupCPUController: 3,
  MissingCGroupCPUsetController: 4,
  MissingCGroupCPUacctController: 5,
  MissingCGroupDevicesController: 6,
  MissingCGroupFreezerController: 7,
  MissingCGroupHugetlbController: 8,
  MissingCGroupMemoryController: 9,
  MissingCGroupNetworkPriorityController: 10,
  MissingCGroupPidsController: 11,
  MissingCGroupMemorySwapAccounting: 12,
  ClusterTimeSkew: 13,
  AppArmorNotAvailable: 14,
  MissingVirtiofsd: 15,
  AppArmorDisabledDueToRawDnsmasq: 16,
  LargerIPv6PrefixThanSupported: 17,
  ProxyBridgeNetfilterNotEnabled: 18,
  NetworkUnavailable: 19,
  OfflineClusterMember: 20,
  InstanceAutostartFailure: 21,
  InstanceTypeNotOperational: 22,
  StoragePoolUnavailable: 23,
  UnableToUpdateClusterCertificate: 24,
} as const;

export type WarningTypeCode = (typeof WarningType)[keyof typeof WarningType];

const NAMES: Readonly<Record<WarningTypeCode, string>> = {
  0: 'Undefined warning',
  1: "Couldn't find the CGroup blkio",
  2: "Couldn't find the CGroup blkio.weight",
  3: "Couldn't find the CGroup CPU controller",
  4: "Couldn't find the CGroup CPUset controller",
  5: "Couldn't find the CGroup CPUacct controller",
  6: "Couldn't find the CGroup devices controller",
  7: "Couldn't find the CGroup freezer controller",
  8: "Couldn't find the CGroup hugetlb controller",
  9: "Couldn't find the CGroup memory controller",
  10: "Couldn't find the CGroup network priority controller",
  11: "Couldn't find the CGroup pids controller",
  12: "Couldn't find the CGroup memory swap accounting",
  13: 'Cluster member time skew detected',
  14: 'AppArmor support has been disabled',
  15: 'Missing virtiofsd',
  16: 'Skipping AppArmor for dnsmasq due to raw.dnsmasq being set',
  17: "IPv6 networks with a prefix larger than 64 aren't properly supported by dnsmasq",
  18: 'Proxy bridge netfilter not enabled',
  19: 'Network unavailable',
  20: 'Offline cluster member',
  21: 'Failed to autostart instance',
  22: 'Instance type not operational',
  23: 'Storage pool unavailable',
  24: 'Unable to update cluster certificate',
};

const HIGH: ReadonlySet<number> = new Set([WarningType.NetworkUnavailable, WarningType.StoragePoolUnavailable]);

export function warningTypeName(code: number): string {
  return NAMES[code as WarningTypeCode] ?? NAMES[0];
}

export function warningSeverity(code: number): WarningSeverity {
  return HIGH.has(code) ? 'high' : 'low';
}

/** warnings.status codes (LXD's WarningStatus). */
export const WarningStatusCode: Readonly<Record<WarningStatus, number>> = { new: 1, acknowledged: 2, resolved: 4 };

export function warningStatusName(code: number): WarningStatus {
  return code === 2 ? 'acknowledged' : code === 4 ? 'resolved' : 'new';
}

/** Entity type codes of warnings.entity_type_code (LXD's cluster entity types). */
export const WarningEntityType = {
  Container: 0,
  Image: 1,
  Profile: 2,
  Project: 3,
  Certificate: 4,
  Instance: 5,
  InstanceBackup: 6,
  InstanceSnapshot: 7,
  Network: 8,
  NetworkACL: 9,
  Node: 10,
  Operation: 11,
  StoragePool: 12,
  StorageVolume: 13,
  StorageVolumeBackup: 14,
  StorageVolumeSnapshot: 15,
  Warning: 16,
  ClusterGroup: 17,
} as const;

export type WarningEntityTypeCode = (typeof WarningEntityType)[keyof typeof WarningEntityType];
