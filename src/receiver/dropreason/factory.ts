import { loadBinding } from '../../native/binding.js';
import type { ReceiverFactory } from '../../service/component.js';
import { configSchema, type DropReasonConfig } from './config.js';
import { checkPrerequisites } from './drop_program.js';
import { metadata } from './metadata.generated.js';
import { DropReasonReceiver } from './receiver.js';

export const dropReasonReceiverFactory: ReceiverFactory<DropReasonConfig> = {
  type: 'dropreason',
  kind: 'receiver',
  signals: ['metrics', 'logs'],
  configSchema,
  create: (settings, config, next) => new DropReasonReceiver(settings, config, next, loadBinding),
  preflight: (config) => void checkPrerequisites({ hook: config.hook, btfPath: config.btf_path }),
  metadata,
};
