// Quoting for commands shown to people or written into shell scripts.

export function shellQuoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an argv the way a POSIX shell would need it. */
export function shellQuote(argv: string[]): string {
  return argv.map(shellQuoteArg).join(' ');
}
