import { ConfigError, formatPath } from './errors.js';

// `${VAR}` and `${VAR:-default}` in every string value of a config document, so secrets stay out of the
// file. Keys are never expanded (they are names, not values). Bare `$VAR` is left alone: command lines
// and passwords contain `$` often enough that only the braced form is taken as a reference.

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

type Env = NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>;

/**
 * Returns a deep copy of `value` with every `${VAR}` / `${VAR:-default}` in strings replaced. The default
 * applies when the variable is unset or empty (as in the shell). `$${` and `\${` produce a literal `${`.
 * Throws one ConfigError listing every unset variable and malformed reference, each with its path.
 */
export function expandEnv(value: unknown, env: Env, path: string): unknown {
  const issues: string[] = [];
  const result = expandValue(value, env, path, issues);
  if (issues.length > 0) throw new ConfigError('cannot expand environment variables', issues);
  return result;
}

function expandValue(value: unknown, env: Env, path: string, issues: string[]): unknown {
  if (typeof value === 'string') return expandString(value, env, path || '(root)', issues);
  if (Array.isArray(value))
    return value.map((item, i) => expandValue(item, env, formatPath(path, [i]), issues));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        expandValue(item, env, formatPath(path, [key]), issues),
      ]),
    );
  }
  return value;
}

function expandString(text: string, env: Env, at: string, issues: string[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start === -1) break;
    const escaped = start > 0 && (text[start - 1] === '$' || text[start - 1] === '\\');
    if (escaped) {
      out += text.slice(i, start - 1) + '${';
      i = start + 2;
      continue;
    }
    out += text.slice(i, start);
    const end = text.indexOf('}', start + 2);
    if (end === -1) {
      issues.push(`${at}: unterminated "\${" in ${JSON.stringify(text)} (write $\${ for a literal \${)`);
      return text;
    }
    const body = text.slice(start + 2, end);
    const match = REFERENCE.exec(body);
    if (!match) {
      issues.push(`${at}: invalid reference "\${${body}}" (expected \${NAME} or \${NAME:-default})`);
    } else {
      const [, name = '', fallback] = match;
      const set = env[name];
      if (set !== undefined && (set !== '' || fallback === undefined)) out += set;
      else if (fallback !== undefined) out += fallback;
      else {
        issues.push(
          `${at}: environment variable ${name} is not set (use \${${name}:-default} for a default)`,
        );
      }
    }
    i = end + 1;
  }
  return out + text.slice(i);
}
