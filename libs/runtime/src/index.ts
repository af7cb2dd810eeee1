// Public entry of @meshwork/runtime: the 12-factor process kit (settings, help, graceful stop).

export { formatHelp } from "./format-help.ts";
export type { HelpOptions } from "./format-help.ts";
export { describeExpected, readSettings } from "./read-settings.ts";
export type { ReadSettingsInput, ReadSettingsResult, SettingsError } from "./read-settings.ts";
export { runUntilStopped } from "./run-until-stopped.ts";
export type { Lifecycle, ProcessLike, RunOptions, StopHook, StopSignal, Timers } from "./run-until-stopped.ts";
export { defineSettings, flagName } from "./settings-spec.ts";
export type {
  BooleanSetting,
  ListSetting,
  NumberSetting,
  SettingDeclaration,
  Settings,
  SettingsSpec,
  StringSetting,
} from "./settings-spec.ts";
