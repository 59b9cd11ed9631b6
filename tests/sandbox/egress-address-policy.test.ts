import { describe, expect, it } from 'vitest';
import { EgressAddressPolicy, parseEgressRanges } from '../../src/domain/egress-address-policy.js';

describe('EgressAddressPolicy', () => {
  const policy = new EgressAddressPolicy();

  it.each([
    ['127.0.0.1', 'loopback-address'],
    ['127.255.0.9', 'loopback-address'],
    ['::1', 'loopback-address'],
    ['::ffff:127.0.0.1', 'loopback-address'],
    ['64:ff9b::7f00:1', 'loopback-address'],
    ['10.1.2.3', 'private-address'],
    ['172.16.0.1', 'private-address'],
    ['172.31.255.255', 'private-address'],
    ['192.168.1.1', 'private-address'],
    ['100.64.0.1', 'cgnat-address'],
    ['100.127.255.254', 'cgnat-address'],
    ['169.254.10.10', 'link-local-address'],
    ['fe80::1', 'link-local-address'],
    ['fc00::1', 'unique-local-address'],
    ['fd12:3456::1', 'unique-local-address'],
    ['0.0.0.0', 'unspecified-address'],
    ['::', 'unspecified-address'],
    ['224.0.0.1', 'multicast-address'],
    ['ff02::1', 'multicast-address'],
    ['255.255.255.255', 'reserved-address'],
    ['169.254.169.254', 'metadata-address'],
    ['::ffff:169.254.169.254', 'metadata-address'],
    ['100.100.100.200', 'metadata-address'],
    ['fd00:ec2::254', 'metadata-address'],
    ['168.63.129.16', 'metadata-address'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(policy.refusal(address)).toBe(reason);
  });

  it.each([
    '93.184.215.14',
    '104.16.0.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::6810:84e5',
    '64:ff9b::5db8:d70e',
  ])('lets the public address %s through', (address) => {
    expect(policy.refusal(address)).toBeNull();
  });

  it('lets an opted-in range through, but never a metadata address inside it', () => {
    const opted = new EgressAddressPolicy(['10.20.0.0/16', '100.64.0.0/10', 'fd12::/16', '127.0.0.2']);
    expect(opted.refusal('10.20.3.4')).toBeNull();
    expect(opted.refusal('10.21.3.4')).toBe('private-address');
    expect(opted.refusal('fd12::8')).toBeNull();
    expect(opted.refusal('127.0.0.2')).toBeNull();
    expect(opted.refusal('127.0.0.1')).toBe('loopback-address');
    expect(opted.refusal('100.100.100.1')).toBeNull();
    expect(opted.refusal('100.100.100.200')).toBe('metadata-address');
  });

  it('rejects malformed operator ranges', () => {
    for (const bad of ['10.0.0.0/33', 'example.com', 'fd00::/129', '']) {
      expect(() => parseEgressRanges([bad])).toThrowError(
        expect.objectContaining({ code: 'config_invalid' }),
      );
    }
  });
});
