// What `app:info` reports: the app's name and version and the runtime it runs on.
import type { AppInfo } from '../../shared/ipc';
import { appVersion } from '../store/app-version';

export function appInfo(electronVersion: string | null): AppInfo {
  return {
    name: 'DefectForge',
    version: appVersion(),
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    electron: electronVersion,
  };
}
