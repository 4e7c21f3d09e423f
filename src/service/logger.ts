/**
 * Logs on stderr, one line each: `console` (time, level, component, message, then
 * key=value pairs) or `json` (one object per line, with the Collector's key names).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogEncoding = 'console' | 'json';
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

function consoleLine(time: string, lvl: LogLevel, component: string, msg: string, fields?: LogFields): string {
  let line = `${time} ${lvl.padEnd(5)} ${component}: ${msg}`;
  for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
  return line;
}

/** The Collector's JSON log keys: ts, level, msg, then the component and the fields. */
function jsonLine(time: string, lvl: LogLevel, component: string, msg: string, fields?: LogFields): string {
  return JSON.stringify({ ts: time, level: lvl, msg, component, ...fields });
}

export function createLogger(
  level: LogLevel = 'info',
  component = 'dropreason',
  write: (line: string) => void = (line) => process.stderr.write(line),
  encoding: LogEncoding = 'console',
): Logger {
  const format = encoding === 'json' ? jsonLine : consoleLine;
  const log = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(format(new Date().toISOString(), lvl, component, msg, fields) + '\n');
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (c) => createLogger(level, c, write, encoding),
  };
}
