/**
 * Our plain Resource against the OpenTelemetry SDK's it replaces: the same inputs give the
 * same attributes (keys in the same order) and schema URL, alone and merged either way.
 */
import type { Attributes } from '@opentelemetry/api';
import * as sdk from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';

import { resourceFromAttributes } from '../../../src/service/resource.js';

type Options = { schemaUrl?: string };

/** What a Resource shows an exporter. */
function shown(r: sdk.Resource) {
  return { attributes: Object.entries(r.attributes), schemaUrl: r.schemaUrl };
}

const node = { 'service.name': 'dropreason', 'host.name': 'n1', 'k8s.node.name': 'n1', 'os.type': 'linux' };
const pod = { 'k8s.pod.ip': '10.0.0.7', 'host.name': 'pod-host', port: 8080, ready: true };

describe('resourceFromAttributes', () => {
  it.each([
    ['no attributes', {}],
    ['strings, numbers and booleans', { a: 'x', n: 1.5, i: 3, b: false, empty: '' }],
    ['an undefined value, which is dropped', { a: 'x', gone: undefined }],
  ] as Array<[string, Attributes]>)('%s: the same attributes as the SDK', (_, attributes) => {
    expect(shown(resourceFromAttributes(attributes))).toEqual(shown(sdk.resourceFromAttributes(attributes)));
  });

  it.each([{}, { schemaUrl: undefined }, { schemaUrl: '' }, { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' }])(
    'schema URL %o as the SDK keeps it',
    (options: Options) => {
      expect(resourceFromAttributes(node, options).schemaUrl).toBe(sdk.resourceFromAttributes(node, options).schemaUrl);
    },
  );

  it('gives the same attributes object at every read, a copy of the one it was given', () => {
    const given = { ...node };
    const r = resourceFromAttributes(given);
    expect(r.attributes).toBe(r.attributes);
    expect(r.attributes).not.toBe(given);
    given['host.name'] = 'changed';
    expect(r.attributes['host.name']).toBe('n1');
  });

  it('raw attributes are its attributes, as the SDK lists them', () => {
    expect(resourceFromAttributes(node).getRawAttributes()).toEqual(
      sdk.resourceFromAttributes(node).getRawAttributes(),
    );
  });
});

describe('merge', () => {
  it.each([
    ['node with pod', node, pod],
    ['pod with node', pod, node],
    ['with nothing', node, {}],
    ['nothing with node', {}, node],
  ])('%s: the other side wins, as in the SDK', (_, a, b) => {
    const ours = resourceFromAttributes(a).merge(resourceFromAttributes(b));
    const theirs = sdk.resourceFromAttributes(a).merge(sdk.resourceFromAttributes(b));
    expect(shown(ours)).toEqual(shown(theirs));
  });

  it('merges an SDK resource as it merges its own', () => {
    const ours = resourceFromAttributes(node).merge(sdk.resourceFromAttributes(pod));
    expect(shown(ours)).toEqual(shown(sdk.resourceFromAttributes(node).merge(sdk.resourceFromAttributes(pod))));
  });

  it('with null gives the resource itself, as in the SDK', () => {
    const r = resourceFromAttributes(node);
    expect(r.merge(null)).toBe(r);
    const s = sdk.resourceFromAttributes(node);
    expect(s.merge(null)).toBe(s);
  });

  const A = 'https://opentelemetry.io/schemas/1.26.0';
  const B = 'https://opentelemetry.io/schemas/1.27.0';
  it.each([
    [undefined, undefined],
    [undefined, ''],
    ['', undefined],
    ['', ''],
    [A, undefined],
    [undefined, A],
    ['', A],
    [A, ''],
    [A, A],
    [A, B],
  ])('schema URL %o merged with %o: as in the SDK', (a, b) => {
    const ours = resourceFromAttributes(node, { schemaUrl: a }).merge(resourceFromAttributes(pod, { schemaUrl: b }));
    const theirs = sdk
      .resourceFromAttributes(node, { schemaUrl: a })
      .merge(sdk.resourceFromAttributes(pod, { schemaUrl: b }));
    expect(ours.schemaUrl).toBe(theirs.schemaUrl);
  });

  it('gives the same attributes object at every read', () => {
    const merged = resourceFromAttributes(node).merge(resourceFromAttributes(pod));
    expect(merged.attributes).toBe(merged.attributes);
  });
});
