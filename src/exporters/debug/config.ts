import { object, oneOf, type Parsed } from '../../service/schema.js';

const fields = {
  /**
   * `basic`: one line per push; `normal`: a table of drops by reason and direction;
   * `detailed`: the table plus every data point with its attributes.
   * @default normal
   */
  verbosity: oneOf(['basic', 'normal', 'detailed'] as const, {
    default: 'normal',
    description: 'basic: one summary line per push; normal: a drop table; detailed: the table and every data point.',
  }),
};

export const configSchema = object(fields, { description: 'Prints the metrics to standard output, readably.' });
export type DebugConfig = Parsed<typeof fields>;
