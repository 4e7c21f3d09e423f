/** The pipeline the in-process view runs: the agent's config format, checked by the agent's parser. */
import { describe, expect, it } from 'vitest';

import { localAgentConfig, localConfig } from '../../../src/top/local_source.js';
import type { MetricsConsumer } from '../../../src/service/component.js';
import { parseTopArgs } from '../../../src/top/options.js';
import { settingsFor } from '../support.js';

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  return localAgentConfig(parseTopArgs(args), () => {}, env);
}

describe('localConfig', () => {
  it('runs the receiver at the refresh interval, in basic mode, logging warnings only', () => {
    const text = localConfig(parseTopArgs([]), {});
    expect(text).toContain('collection_interval: 1000ms');
    const config = parse([]);
    expect(config.receivers.get('dropreason')!.config).toMatchObject({
      collection_interval: 1000,
      mode: 'basic',
      netns: undefined,
    });
    expect(config.pipelines).toEqual([
      { id: 'metrics', signal: 'metrics', receivers: ['dropreason'], processors: [], exporters: ['top'] },
    ]);
    expect(config.telemetry.logs.level).toBe('warn');
  });

  it('passes on advanced mode and the namespace filter', () => {
    const config = parse(['-a', '-i', '250ms', '--netns', '/run/netns/with space']);
    expect(config.receivers.get('dropreason')!.config).toMatchObject({
      collection_interval: 250,
      mode: 'advanced',
      netns: '/run/netns/with space',
    });
  });

  it('names pods through a kubeconfig, watching this node when its name is known', () => {
    const file = '/etc/dropreason/kubeconfig';
    const text = localConfig(parseTopArgs(['-a', '--kubeconfig', file]), { K8S_NODE_NAME: 'node-1' });
    expect(text).toContain('node_from_env_var: K8S_NODE_NAME');
    expect(localConfig(parseTopArgs(['-a', '--kubeconfig', file]), {})).not.toContain('filter');
    const config = parse(['-a', '--kubeconfig', file], { K8S_NODE_NAME: 'node-1' });
    expect(config.pipelines[0]!.processors).toEqual(['k8sattributes']);
    expect(config.processors.get('k8sattributes')!.config).toMatchObject({
      auth_type: 'kubeConfig',
      kube_config_path: file,
      filter: { node_from_env_var: 'K8S_NODE_NAME' },
    });
  });

  it('hands each push of the pipeline to the view', async () => {
    const pushed: unknown[] = [];
    const config = localAgentConfig(parseTopArgs([]), (m) => pushed.push(m), {});
    const top = config.exporters.get('top')!;
    const exporter = top.factory.create(settingsFor('exporters.top'), top.config, { consume: async () => {} });
    await (exporter as unknown as MetricsConsumer).consume([]);
    expect(pushed).toEqual([[]]);
  });
});
