// The one error the renderer throws for input it refuses, and the refusals a user may override.
//
//   InputError (.problems: string[])   every problem found, one line each: `<file>#<document> <path>: <problem>`
//                                      (file-level problems: `<file>: <problem>`). The CLI prints them and exits 1.
//   ALLOWANCES, Allowance              inputs that would make routing useless, refused unless the user names them
//                                      (CLI: --allow NAME); then they render with a warning.
//   Findings                           collects problems and warnings while one input is read or rendered.

export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "InputError";
  }
}

export const ALLOWANCES = {
  "unused-key": "a headerToDynamicSubsetKey key that no subset selector of the service uses",
  "no-subsets": "a service whose endpoints form no subset (every request takes the fallback)",
} as const;

export type Allowance = keyof typeof ALLOWANCES;

export const isAllowance = (name: string): name is Allowance => Object.hasOwn(ALLOWANCES, name);

export class Findings {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly allowed: ReadonlySet<Allowance> = new Set()) {}

  /** Something that would break routing: a problem, or a warning when the user allowed it. */
  refuse(allowance: Allowance, message: string): void {
    if (this.allowed.has(allowance)) this.warnings.push(message);
    else this.problems.push(`${message} (to render it anyway: --allow ${allowance})`);
  }

  /** Throws the problems found so far, if any. */
  check(): void {
    if (this.problems.length > 0) throw new InputError(this.problems);
  }
}
