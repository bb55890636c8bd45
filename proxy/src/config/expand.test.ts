import { describe, it, expect } from 'vitest';
import { ConfigError } from './errors.js';
import { expandEnv } from './expand.js';

function issuesOf(value: unknown, env: Record<string, string | undefined>): string[] {
  try {
    expandEnv(value, env, '');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('expandEnv', () => {
  it('expands ${VAR} in every string, deeply, and leaves keys and non-strings alone', () => {
    const input = {
      mcpServers: {
        w: {
          url: 'https://${HOST}/mcp',
          headers: { '${HOST}': 'Bearer ${TOKEN}' },
          args: ['--key=${TOKEN}'],
          timeoutMs: 5,
          disabled: false,
        },
      },
    };
    expect(expandEnv(input, { HOST: 'api.example', TOKEN: 's3cret' }, '')).toEqual({
      mcpServers: {
        w: {
          url: 'https://api.example/mcp',
          headers: { '${HOST}': 'Bearer s3cret' },
          args: ['--key=s3cret'],
          timeoutMs: 5,
          disabled: false,
        },
      },
    });
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty', () => {
    expect(expandEnv('${PORT:-8080}', {}, 'x')).toBe('8080');
    expect(expandEnv('${PORT:-8080}', { PORT: '' }, 'x')).toBe('8080');
    expect(expandEnv('${PORT:-8080}', { PORT: '9090' }, 'x')).toBe('9090');
    expect(expandEnv('${EMPTY:-}', {}, 'x')).toBe('');
    expect(expandEnv('${URL:-http://a:1/b}', {}, 'x')).toBe('http://a:1/b');
  });

  it('keeps an empty but set variable when there is no default', () => {
    expect(expandEnv('a${X}b', { X: '' }, 'x')).toBe('ab');
  });

  it('treats $${ and \\${ as a literal ${, and leaves bare $VAR alone', () => {
    expect(expandEnv('$${HOME} \\${HOME} $HOME $$ a$b', { HOME: '/h' }, 'x')).toBe(
      '${HOME} ${HOME} $HOME $$ a$b',
    );
  });

  it('names the path and the variable of every unset reference', () => {
    const input = { mcpServers: { weather: { env: { API_KEY: '${WEATHER_KEY}' }, args: ['${A}', '${B}'] } } };
    expect(issuesOf(input, {})).toEqual([
      'mcpServers.weather.env.API_KEY: environment variable WEATHER_KEY is not set (use ${WEATHER_KEY:-default} for a default)',
      'mcpServers.weather.args[0]: environment variable A is not set (use ${A:-default} for a default)',
      'mcpServers.weather.args[1]: environment variable B is not set (use ${B:-default} for a default)',
    ]);
  });

  it('rejects malformed references', () => {
    expect(issuesOf({ a: '${1X}' }, {})).toEqual([
      'a: invalid reference "${1X}" (expected ${NAME} or ${NAME:-default})',
    ]);
    expect(issuesOf({ a: 'x ${OPEN' }, {})).toEqual([
      'a: unterminated "${" in "x ${OPEN" (write $${ for a literal ${)',
    ]);
  });

  it('does not modify its input', () => {
    const input = { a: ['${X}'] };
    expandEnv(input, { X: '1' }, '');
    expect(input).toEqual({ a: ['${X}'] });
  });
});
