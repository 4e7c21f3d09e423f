import { describe, expect, it } from 'vitest';

import { loadBinding } from '../../../src/native/binding.js';

describe('setMallocOption', () => {
  it('passes a known option to mallopt', () => {
    expect(loadBinding().setMallocOption('mmap_threshold', 128 * 1024)).toBe(true);
  });

  it('refuses an option it does not know, and a value that is not a number', () => {
    const binding = loadBinding() as unknown as { setMallocOption(option: unknown, value: unknown): boolean };
    expect(() => binding.setMallocOption('top_pad', 0)).toThrow(
      new TypeError("setMallocOption: no malloc option named 'top_pad'"),
    );
    expect(() => binding.setMallocOption('mmap_threshold', '1')).toThrow(TypeError);
  });
});
