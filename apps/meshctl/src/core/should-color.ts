// Decides whether human output gets ANSI colours: the --color choice, else only on a terminal
// and only when NO_COLOR (https://no-color.org) is not set.

export interface Terminal {
  /** stdout is a TTY. */
  readonly isTty: boolean;
  /** The NO_COLOR environment variable is set to a non-empty value. */
  readonly hasNoColor: boolean;
}

export function shouldColor(choice: "auto" | "always" | "never", terminal: Terminal): boolean {
  if (choice === "auto") return terminal.isTty && !terminal.hasNoColor;
  return choice === "always";
}
