// The declaration of a process's settings: one entry per setting with its type, default, flag and
// environment variable, from which readSettings() derives parsing, typing and --help.

interface SettingBase {
  /** One line shown by --help. */
  readonly description: string;
  /** Environment variable read when the flag is absent, e.g. "MESHWORK_LOG_LEVEL". */
  readonly env?: string;
  /** One-letter alias, e.g. "f" for `-f`. */
  readonly short?: string;
  /** Placeholder for the value in --help, e.g. "FILE"; defaults to the type name. */
  readonly valueName?: string;
  /** When true, a missing flag and env var is an error (no default applies). */
  readonly required?: boolean;
}

export interface StringSetting extends SettingBase {
  readonly type: "string";
  readonly default?: string;
  /** The only accepted values; the setting's TypeScript type becomes their union. */
  readonly choices?: readonly string[];
}

export interface NumberSetting extends SettingBase {
  readonly type: "number";
  readonly default?: number;
  /** Reject fractions (ports, counts). */
  readonly integer?: boolean;
}

/** A switch: `--name` sets true, `--no-name` or `--name=false` sets false; default false. */
export interface BooleanSetting extends SettingBase {
  readonly type: "boolean";
  readonly default?: boolean;
}

/** Repeatable flag (`-f a -f b`), each value also split on commas; the env var is comma-separated. Default []. */
export interface ListSetting extends SettingBase {
  readonly type: "list";
  readonly default?: readonly string[];
}

export type SettingDeclaration = StringSetting | NumberSetting | BooleanSetting | ListSetting;

/** Settings by name; a camelCase name `logLevel` is the flag `--log-level`. */
export type SettingsSpec = Readonly<Record<string, SettingDeclaration>>;

type ValueOf<D> = D extends { readonly type: "string"; readonly choices: readonly (infer C)[] }
  ? C
  : D extends { readonly type: "string" }
    ? string
    : D extends { readonly type: "number" }
      ? number
      : D extends { readonly type: "boolean" }
        ? boolean
        : readonly string[];

type IsAlwaysSet<D> = D extends { readonly type: "boolean" | "list" }
  ? true
  : D extends { readonly default: unknown }
    ? true
    : D extends { readonly required: true }
      ? true
      : false;

/** The typed values of a spec: a setting with no default and not required may be undefined. */
export type Settings<S extends SettingsSpec> = {
  readonly [K in keyof S]: IsAlwaysSet<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/**
 * Returns `spec` unchanged, typed with its literal values, so that `Settings<typeof spec>` knows
 * which settings always have a value and which strings are limited to `choices`.
 */
export function defineSettings<const S extends SettingsSpec>(spec: S): S {
  return spec;
}

/** The long flag of a setting name: `logLevel` → `log-level`. */
export function flagName(settingName: string): string {
  return settingName.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
