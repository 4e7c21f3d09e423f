import { object, oneOf, type Parsed } from '../../service/schema.js';

const fields = {
  /**
   * `basic`: one line per push; `normal`: a table of drops by reason and direction;
   * `detailed`: the table plus every data point with its attributes.
   * @default normal
   */
  verbosity: oneOf(['basic', 'normal', 'detailed'] as const, {
    default: 'normal',
    description:
      'basic: one summary line per push; normal: a drop table, and one line per sample of a drop; detailed: also every data point, and each sample with its attributes.',
  }),
};

export const configSchema = object(fields, {
  description: 'Prints the metrics, and samples of drops, to standard output, readably.',
});
export type DebugConfig = Parsed<typeof fields>;
