import { describe, expect, it } from 'vitest';
import { ReplicaGate } from '../../src/store/replica-gate.js';

describe('ReplicaGate', () => {
  it('admits all while waits succeed; after a short one refuses for one timeout, then lets one probe', () => {
    const gate = new ReplicaGate(1000);
    expect(gate.admit('a', 0)).toBe(true);
    expect(gate.admit('a', 0)).toBe(true);
    gate.settle('a', false, 10);
    expect(gate.admit('a', 500)).toBe(false);
    expect(gate.admit('b', 500)).toBe(true);
    expect(gate.admit('a', 1010)).toBe(true);
    // The probe is out: the others are refused until it settles.
    expect(gate.admit('a', 1020)).toBe(false);
    gate.settle('a', false, 1500);
    expect(gate.admit('a', 2000)).toBe(false);
    expect(gate.admit('a', 2500)).toBe(true);
    gate.settle('a', true, 2600);
    expect(gate.admit('a', 2600)).toBe(true);
    expect(gate.admit('a', 2600)).toBe(true);
  });

  it('lets another probe through when one never settles', () => {
    const gate = new ReplicaGate(1000, 3000);
    gate.settle('a', false, 0);
    expect(gate.admit('a', 1000)).toBe(true);
    expect(gate.admit('a', 3999)).toBe(false);
    expect(gate.admit('a', 4000)).toBe(true);
  });
});
