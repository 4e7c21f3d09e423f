import { loadBinding } from '../../native/binding.js';
import type { ReceiverFactory } from '../../service/component.js';
import { configSchema, type DropReasonConfig } from './config.js';
import { DropReasonReceiver } from './receiver.js';

export const dropReasonReceiverFactory: ReceiverFactory<DropReasonConfig> = {
  type: 'dropreason',
  kind: 'receiver',
  configSchema,
  create: (settings, config, next) => new DropReasonReceiver(settings, config, next, loadBinding),
};
