/**
 * How a playbook condition matches a text (a rule, a metric, a dimension value):
 * - `/pattern/flags` is a regular expression;
 * - a pattern with `*` or `?` is a glob (`*` any run of characters, `?` one character), anchored;
 * - anything else must be equal.
 */
export type TextMatcher = (value: string) => boolean;

const REGEX_LITERAL = /^\/(.*)\/([a-z]*)$/s;

/** Compiles a pattern; throws with the reason when a regular expression does not compile. */
export function compileMatcher(pattern: string): TextMatcher {
  const literal = REGEX_LITERAL.exec(pattern);
  if (literal) {
    const regex = new RegExp(literal[1]!, literal[2]!.replace(/[gy]/g, ''));
    return (value) => regex.test(value);
  }
  if (/[*?]/.test(pattern)) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    const glob = new RegExp(`^${source}$`, 's');
    return (value) => glob.test(value);
  }
  return (value) => value === pattern;
}

/** Why a pattern cannot be compiled, or undefined when it can. */
export function patternError(pattern: string): string | undefined {
  try {
    compileMatcher(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** One of several patterns. */
export function anyOf(patterns: readonly string[]): TextMatcher {
  const matchers = patterns.map(compileMatcher);
  return (value) => matchers.some((match) => match(value));
}
