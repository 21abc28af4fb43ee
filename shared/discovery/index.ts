export {
  allTargets,
  type DiscoveredTarget,
  type DiscoverKind,
  type DiscoverRequest,
  discoverFleet,
  type Fleet,
  type GsiTarget,
} from './fleet.ts';
export { matchesTagSelector, type TagKeys, toTarget } from './select.ts';
