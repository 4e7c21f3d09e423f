/** Plain line logs on stderr: time, level, component, message, then key=value pairs. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(component: string): Logger;
}

function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[\w.:/@+-]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}

export function createLogger(
  level: LogLevel = 'info',
  component = 'dropreason',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const log = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    let line = `${new Date().toISOString()} ${lvl.padEnd(5)} ${component}: ${msg}`;
    for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
    write(line + '\n');
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (c) => createLogger(level, c, write),
  };
}
