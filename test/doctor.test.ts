// `pheap doctor`: on this machine (no NVDIMMs, no DAX) it must say plainly
// that a path is not on persistent memory, and its report must be plain JSON.
// The parsers are also checked against synthetic mountinfo, iomem and sysfs
// input, so the pmem branches are exercised without pmem hardware.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { doctor, findMount, formatDoctor, nvdimms, parseIomem, type DoctorReport } from '../src/cli/doctor.js';
import { nativeStatus } from '../src/backends/native.js';

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pheap-doctor-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** CAP_SYS_ADMIN (bit 21 of CapEff) is what un-hides page frames and iomem addresses. */
function hasSysAdmin(): boolean {
  const capEff = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m)?.[1];
  return capEff !== undefined && ((BigInt(`0x${capEff}`) >> 21n) & 1n) === 1n;
}

function withoutNative<T>(fn: () => T): T {
  const saved = process.env.PHEAP_NO_NATIVE;
  process.env.PHEAP_NO_NATIVE = '1';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.PHEAP_NO_NATIVE;
    else process.env.PHEAP_NO_NATIVE = saved;
  }
}

describe('doctor on this machine', () => {
  let report: DoctorReport;
  beforeAll(() => {
    report = doctor(path.join(dir, 'pool.pheap'));
  });

  it('reports no DAX and no persistent memory for a temp dir, as JSON', () => {
    const json = JSON.parse(JSON.stringify(report)) as DoctorReport;
    expect(json).toEqual(report); // nothing lost: no bigint, no undefined, no functions
    expect(json.directory).toBe(dir);
    expect(json.dax).toBe(false);
    expect(json.onPersistentMemory).toBe(false);
    expect(json.verdict).toMatch(/is NOT on persistent memory/);
    expect(json.iomem.pmemRanges).toEqual([]);
    expect(json.nvdimm.activeRegions + json.nvdimm.activeNamespaces).toBe(0);
    expect(json.fileSystem?.daxOption).toBeNull();
  });

  it('tried MAP_SYNC through the native shim and the kernel refused it', () => {
    expect(nativeStatus().reason, 'the native shim must be built: node scripts/build-native.mjs').toBeNull();
    expect(report.shim.available).toBe(true);
    expect(report.mapSync).toMatchObject({ tested: true, ok: false, code: 'EOPNOTSUPP' });
    expect(report.verdict).toMatch(/refuses MAP_SYNC there \(EOPNOTSUPP\)/);
    expect(report.drain).toMatch(/msync/);
  });

  it('identifies the file system the way the kernel does', () => {
    const fsi = report.fileSystem;
    expect(fsi, report.fileSystemError ?? '').not.toBeNull();
    expect(fsi!.deviceMatchesPath).toBe(true);
    const real = fs.realpathSync(dir);
    expect(real === fsi!.mountPoint || fsi!.mountPoint === '/' || real.startsWith(`${fsi!.mountPoint}/`)).toBe(true);
  });

  it('looked up the physical page of the mapped test page (hidden without CAP_SYS_ADMIN)', () => {
    expect(report.pagemap.tested, report.pagemap.note).toBe(true);
    expect(report.iomem.readable).toBe(true);
    if (hasSysAdmin()) {
      expect(report.pagemap.physicalAddress, report.pagemap.note).toMatch(/^0x[0-9a-f]+$/);
      expect(report.pagemap.inPmemRange).toBe(false);
      expect(report.pagemap.resource).toMatch(/RAM/);
      expect(report.iomem.addressesHidden).toBe(false);
    } else {
      expect(report.pagemap.physicalAddress).toBeNull();
      expect(report.pagemap.note).toMatch(/CAP_SYS_ADMIN/);
      expect(report.iomem.addressesHidden).toBe(true);
    }
  });

  it('leaves no test file behind', () => {
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.pheap-doctor'))).toEqual([]);
  });

  it('formats a human report that ends with the verdict and its reasons', () => {
    const text = formatDoctor(report);
    expect(text).toMatch(/^pheap doctor: /);
    expect(text).toMatch(/MAP_SYNC\s+refused: .*\(EOPNOTSUPP\)/);
    expect(text).toMatch(/\nverdict: .* is NOT on persistent memory/);
    expect(text).toMatch(/- The kernel refuses a MAP_SHARED_VALIDATE\|MAP_SYNC mapping/);
  });

  it('without the shim still answers, and says what it could not test', () => {
    const r = withoutNative(() => doctor(dir));
    expect(r.shim).toMatchObject({ available: false, reason: expect.stringMatching(/PHEAP_NO_NATIVE/) });
    expect(r.mapSync.tested).toBe(false);
    expect(r.pagemap.tested).toBe(false);
    expect(r.drain).toMatch(/file backend/);
    // The device here cannot do DAX (or tmp is not a DAX file system): a sure "no".
    expect(r.dax).toBe(false);
    expect(r.onPersistentMemory).toBe(false);
  });

  it('says it cannot tell for a directory that does not exist', () => {
    const r = doctor(path.join(dir, 'missing', 'pool.pheap'));
    expect(r.dax).toBeNull();
    expect(r.onPersistentMemory).toBeNull();
    expect(r.verdict).toMatch(/^Could not tell .*does not exist/);
  });
});

describe('doctor parsers (synthetic input)', () => {
  const mountinfo = [
    '22 27 0:21 / /proc rw,relatime - proc proc rw',
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
    '40 27 259:1 / /mnt/pm rw,relatime shared:7 - xfs /dev/pmem0 rw,attr2,dax=always,inode64',
    '41 27 259:2 / /mnt/pm\\040two rw master:1 - ext4 /dev/pmem1 rw,dax',
    '42 27 0:50 / /mnt/pmem rw - tmpfs tmpfs rw',
    '43 40 259:3 / /mnt/pm rw - ext4 /dev/pmem2 rw,dax=inode',
  ].join('\n');

  it('picks the longest mount point, the top of a stack, unescapes names and reads dax options', () => {
    expect(findMount('/mnt/pm/pools', mountinfo)).toMatchObject({ source: '/dev/pmem2', fsType: 'ext4', daxOption: 'inode', device: '259:3' });
    expect(findMount('/mnt/pm two/x', mountinfo)).toMatchObject({ mountPoint: '/mnt/pm two', daxOption: 'always' });
    expect(findMount('/mnt/pmemx', mountinfo)).toMatchObject({ mountPoint: '/', daxOption: null });
    expect(findMount('/mnt/pmem', mountinfo)).toMatchObject({ fsType: 'tmpfs' });
    expect(findMount('/home', mountinfo)?.superOptions).toEqual(['rw', 'discard']);
  });

  it('parses /proc/iomem nesting, including addresses hidden as zero', () => {
    const iomem = parseIomem(
      ['00001000-0009fbff : System RAM', '100000000-47fffffff : Persistent Memory', '  100000000-47fffffff : namespace0.0', '480000000-4ffffffff : Persistent Memory (legacy)'].join('\n'),
    );
    expect(iomem).toHaveLength(4);
    expect(iomem[2]).toEqual({ start: 0x100000000n, end: 0x47fffffffn, name: 'namespace0.0', depth: 2 });
    expect(parseIomem('00000000-00000000 : Persistent Memory').every((e) => e.start === 0n && e.end === 0n)).toBe(true);
  });

  it('lists NVDIMM regions and namespaces from a sysfs tree, counting only non-empty ones', () => {
    const root = path.join(dir, 'nd');
    const dev = (name: string, attrs: Record<string, string>) => {
      fs.mkdirSync(path.join(root, 'devices', name), { recursive: true });
      for (const [k, v] of Object.entries(attrs)) fs.writeFileSync(path.join(root, 'devices', name, k), `${v}\n`);
    };
    dev('ndbus0', { provider: 'ACPI.NFIT' });
    dev('region0', { size: '17179869184', persistence_domain: 'memory_controller', uevent: 'DEVTYPE=nd_pmem' });
    dev('namespace0.0', { size: '16909336576', mode: 'fsdax', blockdev: 'pmem0' });
    dev('namespace0.1', { size: '0', mode: 'raw' }); // a seed namespace: idle
    const nd = nvdimms(root);
    expect(nd.busPresent).toBe(true);
    expect(nd.activeRegions).toBe(1);
    expect(nd.activeNamespaces).toBe(1);
    expect(nd.devices.find((d) => d.name === 'region0')).toEqual({
      name: 'region0',
      kind: 'region',
      attributes: { devtype: 'nd_pmem', size: '17179869184', persistence_domain: 'memory_controller' },
    });
    expect(nd.devices.find((d) => d.name === 'namespace0.0')?.attributes).toMatchObject({ mode: 'fsdax', blockdev: 'pmem0' });
    expect(nvdimms(path.join(dir, 'no-such-bus'))).toEqual({ busPresent: false, devices: [], activeRegions: 0, activeNamespaces: 0 });
  });
});
