// doctor.ts: `pheap doctor [path]`, which tells whether a path is really on
// persistent memory, the way one checks it by hand (see docs/mapped.md):
//   1. the file system and its mount options (dax, dax=always, dax=inode);
//   2. whether the kernel accepts a MAP_SYNC mapping of a test file there;
//   3. NVDIMM buses, DIMMs, regions and namespaces under /sys/bus/nd (read-only,
//      like `ndctl list`);
//   4. "Persistent Memory" ranges in /proc/iomem;
//   5. the physical page behind a mapped test page (/proc/self/pagemap), and
//      whether it lies inside those ranges (needs root: otherwise the kernel
//      reports page frame numbers and iomem addresses as zero).
// MAP_SYNC is the deciding test: the kernel accepts it only on a DAX mapping,
// which is what makes cache flushes (rather than msync) durable. The rest
// explains the answer, and catches DAX over something that is not persistent.
//
// Everything is read-only except one small test file created next to the
// pool path and removed before returning. The report is plain JSON data.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nativeStatus, type NativeMmap } from '../backends/native.js';

export interface FileSystemInfo {
  mountPoint: string;
  fsType: string;
  /** The mounted device or pseudo source, e.g. /dev/pmem0, /dev/vda, tmpfs. */
  source: string;
  /** major:minor of the mount, from /proc/self/mountinfo. */
  device: string;
  mountOptions: string[];
  superOptions: string[];
  /** DAX policy from the options: 'always' (dax, dax=always), 'inode' (per file, chattr +x), 'never', or null (no dax option shown). */
  daxOption: 'always' | 'inode' | 'never' | null;
  /** /sys/dev/block/<device>/queue/dax: whether the block device can do DAX at all; null when not a block device or unreadable. */
  deviceDaxCapable: boolean | null;
  /** False when the path's st_dev differs from the mount's device (btrfs subvolumes, some overlays): the mount match is then a best guess. */
  deviceMatchesPath: boolean;
}

export interface MapSyncCheck {
  /** False when there was nothing to test with (no shim) or no test file could be made. */
  tested: boolean;
  ok: boolean;
  errno: number | null;
  /** Symbolic errno (EOPNOTSUPP, ...). */
  code: string | null;
  message: string;
}

export interface NdDevice {
  name: string;
  kind: 'bus' | 'dimm' | 'region' | 'namespace' | 'btt' | 'pfn' | 'dax' | 'other';
  /** Readable sysfs attributes among size, mode, blockdev, uuid, ... */
  attributes: Record<string, string>;
}

export interface NvdimmInfo {
  /** /sys/bus/nd exists (libnvdimm loaded). */
  busPresent: boolean;
  devices: NdDevice[];
  /** Regions and namespaces with a non-zero size: what `ndctl list -RN` would show. */
  activeRegions: number;
  activeNamespaces: number;
}

export interface IomemRange {
  start: string;
  end: string;
  name: string;
  /** "Persistent Memory (legacy)": e820 type 12, typically DRAM reserved with memmap=nn!ss (emulated pmem). */
  legacy: boolean;
}

export interface IomemInfo {
  readable: boolean;
  /** Every address read as zero: the kernel hides them from readers without CAP_SYS_ADMIN. */
  addressesHidden: boolean;
  pmemRanges: IomemRange[];
}

export interface PagemapCheck {
  tested: boolean;
  note: string;
  virtualAddress: string | null;
  /** Physical address of the test page; null when unknown or hidden. */
  physicalAddress: string | null;
  /** Deepest /proc/iomem resource holding the page, e.g. "System RAM" or "namespace0.0". */
  resource: string | null;
  /** Inside a "Persistent Memory" range of /proc/iomem; null when it could not be told. */
  inPmemRange: boolean | null;
  inLegacyRange: boolean | null;
}

export interface DoctorReport {
  path: string;
  /** Directory the test file was made in (the path itself, or its parent). */
  directory: string;
  platform: string;
  kernel: string;
  uid: number | null;
  shim: { available: boolean; reason: string | null; flushInstruction: string | null };
  fileSystem: FileSystemInfo | null;
  fileSystemError: string | null;
  mapSync: MapSyncCheck;
  nvdimm: NvdimmInfo;
  iomem: IomemInfo;
  pagemap: PagemapCheck;
  /** The kernel maps files here with MAP_SYNC (DAX). null: could not tell (no shim, and the device might do DAX; or no such directory). */
  dax: boolean | null;
  /** DAX, and nothing says the pages are DRAM (emulated pmem) or outside persistent memory. null when `dax` is null. */
  onPersistentMemory: boolean | null;
  /** How pheap's drain would reach durability for a pool here. */
  drain: string;
  verdict: string;
  reasons: string[];
}

const TEST_SIZE = 65536;
/** File systems that can map files with DAX (Linux 6.x). */
const DAX_FILE_SYSTEMS = new Set(['ext2', 'ext4', 'xfs', 'erofs', 'virtiofs', 'fuse']);

function readText(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function errnoCode(errno: number): string | null {
  if (errno === os.constants.errno.EOPNOTSUPP) return 'EOPNOTSUPP'; // same number as ENOTSUP; the name mmap(2) uses
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return null;
}

/** The directory a pool at `p` lives in: p itself if a directory, else its parent (which must exist). */
function directoryOf(p: string): string {
  try {
    if (fs.statSync(p).isDirectory()) return p;
  } catch {
    // not there yet: a pool would be created in the parent
  }
  return path.dirname(p);
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function daxOption(options: string[]): FileSystemInfo['daxOption'] {
  let out: FileSystemInfo['daxOption'] = null;
  for (const o of options) {
    if (o === 'dax' || o === 'dax=always') out = 'always';
    else if (o === 'dax=inode') out = 'inode';
    else if (o === 'dax=never') out = 'never';
  }
  return out;
}

/** Linux's encoding of dev_t (new_decode_dev). */
function majorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The mount holding `dir`, from /proc/self/mountinfo: longest mount point that is a prefix; the last one wins a tie (it is mounted on top). */
export function findMount(dir: string, mountinfo: string): Omit<FileSystemInfo, 'deviceDaxCapable' | 'deviceMatchesPath'> | null {
  let best: Omit<FileSystemInfo, 'deviceDaxCapable' | 'deviceMatchesPath'> | null = null;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 10 || dash < 6) continue;
    const mountPoint = unescapeMount(fields[4]);
    const inside = mountPoint === '/' || dir === mountPoint || dir.startsWith(`${mountPoint}/`);
    if (!inside || (best && mountPoint.length < best.mountPoint.length)) continue;
    const mountOptions = fields[5].split(',');
    const superOptions = (fields[dash + 3] ?? '').split(',');
    best = {
      mountPoint,
      fsType: fields[dash + 1],
      source: unescapeMount(fields[dash + 2]),
      device: fields[2],
      mountOptions,
      superOptions,
      daxOption: daxOption([...mountOptions, ...superOptions]),
    };
  }
  return best;
}

function fileSystemOf(dir: string): FileSystemInfo {
  if (!fs.existsSync(dir)) throw new Error(`directory ${dir} does not exist`);
  const real = fs.realpathSync(dir);
  const mountinfo = readText('/proc/self/mountinfo');
  if (mountinfo === null) throw new Error('/proc/self/mountinfo is not readable');
  const m = findMount(real, mountinfo);
  if (!m) throw new Error(`no mount found for ${real}`);
  const daxFlag =
    m.device.startsWith('0:')
      ? null
      : (readText(`/sys/dev/block/${m.device}/queue/dax`) ?? readText(`/sys/dev/block/${m.device}/../queue/dax`));
  return {
    ...m,
    deviceDaxCapable: daxFlag === null ? null : daxFlag.trim() === '1',
    deviceMatchesPath: majorMinor(fs.statSync(real, { bigint: true }).dev) === m.device,
  };
}

const ND_ATTRIBUTES = ['devtype', 'size', 'available_size', 'mode', 'blockdev', 'uuid', 'numa_node', 'persistence_domain', 'align', 'provider', 'id'];

function ndKind(name: string): NdDevice['kind'] {
  if (/^ndbus\d+$/.test(name)) return 'bus';
  if (/^nmem\d+$/.test(name)) return 'dimm';
  if (/^region\d+$/.test(name)) return 'region';
  if (/^namespace\d+\.\d+$/.test(name)) return 'namespace';
  if (/^btt\d+\.\d+$/.test(name)) return 'btt';
  if (/^pfn\d+\.\d+$/.test(name)) return 'pfn';
  if (/^dax\d+\.\d+$/.test(name)) return 'dax';
  return 'other';
}

export function nvdimms(root = '/sys/bus/nd'): NvdimmInfo {
  const busPresent = fs.existsSync(root);
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(root, 'devices')).sort();
  } catch {
    // no bus, or no devices directory: nothing to list
  }
  const devices = names.map((name): NdDevice => {
    const attributes: Record<string, string> = {};
    for (const a of ND_ATTRIBUTES) {
      const v = readText(path.join(root, 'devices', name, a));
      if (v !== null && v.trim() !== '') attributes[a] = v.trim();
    }
    const devtype = readText(path.join(root, 'devices', name, 'uevent'))?.match(/^DEVTYPE=(.*)$/m)?.[1];
    if (devtype && !attributes.devtype) attributes.devtype = devtype;
    return { name, kind: ndKind(name), attributes };
  });
  const active = (k: NdDevice['kind']) => devices.filter((d) => d.kind === k && Number(d.attributes.size ?? 0) > 0).length;
  return { busPresent, devices, activeRegions: active('region'), activeNamespaces: active('namespace') };
}

interface IomemEntry {
  start: bigint;
  end: bigint;
  name: string;
  depth: number;
}

export function parseIomem(text: string): IomemEntry[] {
  const out: IomemEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\s*)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$/.exec(line);
    if (m) out.push({ start: BigInt(`0x${m[2]}`), end: BigInt(`0x${m[3]}`), name: m[4], depth: m[1].length });
  }
  return out;
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

function iomemInfo(entries: IomemEntry[] | null): IomemInfo {
  if (entries === null) return { readable: false, addressesHidden: false, pmemRanges: [] };
  return {
    readable: true,
    addressesHidden: entries.length > 0 && entries.every((e) => e.start === 0n && e.end === 0n),
    pmemRanges: entries
      .filter((e) => e.name.startsWith('Persistent Memory'))
      .map((e) => ({ start: hex(e.start), end: hex(e.end), name: e.name, legacy: e.name.includes('legacy') })),
  };
}

const NOT_TESTED: PagemapCheck = {
  tested: false,
  note: '',
  virtualAddress: null,
  physicalAddress: null,
  resource: null,
  inPmemRange: null,
  inLegacyRange: null,
};

/**
 * Map the test file into a WebAssembly.Memory (as the mapped backend would),
 * touch the page, and look up its frame in /proc/self/pagemap (bit 63:
 * present; bits 0-54: page frame number, zero unless CAP_SYS_ADMIN).
 */
function pagemapCheck(native: NativeMmap, fd: number, iomem: IomemEntry[] | null): PagemapCheck {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2 });
  native.map(memory.buffer, TEST_SIZE, TEST_SIZE, fd, true);
  try {
    new Uint8Array(memory.buffer)[TEST_SIZE] = 1; // fault the page in
    const virt = native.address(memory.buffer) + BigInt(TEST_SIZE);
    const entry = Buffer.alloc(8);
    const pm = fs.openSync('/proc/self/pagemap', 'r');
    try {
      fs.readSync(pm, entry, 0, 8, Number(virt / BigInt(native.pageSize)) * 8);
    } finally {
      fs.closeSync(pm);
    }
    const word = entry.readBigUInt64LE(0);
    const base = { ...NOT_TESTED, tested: true, virtualAddress: hex(virt) };
    if (!(word >> 63n)) return { ...base, note: 'the test page was not present after touching it' };
    const pfn = word & ((1n << 55n) - 1n);
    if (pfn === 0n) {
      return { ...base, note: 'page frame numbers read as zero: the kernel shows them only with CAP_SYS_ADMIN (run as root)' };
    }
    const phys = pfn * BigInt(native.pageSize);
    const holders = (iomem ?? []).filter((e) => e.start <= phys && phys <= e.end);
    const deepest = holders.reduce<IomemEntry | null>((d, e) => (d === null || e.depth >= d.depth ? e : d), null);
    const pmem = holders.filter((e) => e.name.startsWith('Persistent Memory'));
    return {
      ...base,
      note: deepest ? `the test page is in "${deepest.name}"` : 'no /proc/iomem resource holds the test page',
      physicalAddress: hex(phys),
      resource: deepest?.name ?? null,
      inPmemRange: pmem.length > 0,
      inLegacyRange: pmem.some((e) => e.name.includes('legacy')),
    };
  } finally {
    native.unmap(memory.buffer, TEST_SIZE, TEST_SIZE);
  }
}

/** Inspect `target` (a pool file, a path where one would be created, or a directory). Never throws for what it finds. */
export function doctor(target: string): DoctorReport {
  const p = path.resolve(target);
  const directory = directoryOf(p);
  const status = nativeStatus();
  const native = status.native;

  let fileSystem: FileSystemInfo | null = null;
  let fileSystemError: string | null = null;
  try {
    fileSystem = fileSystemOf(directory);
  } catch (e) {
    fileSystemError = (e as Error).message;
  }

  const iomemText = readText('/proc/iomem');
  const iomemEntries = iomemText === null ? null : parseIomem(iomemText);
  const iomem = iomemInfo(iomemEntries);
  const nvdimm = nvdimms();

  let mapSync: MapSyncCheck = { tested: false, ok: false, errno: null, code: null, message: '' };
  let pagemap: PagemapCheck = { ...NOT_TESTED };
  if (!native) {
    mapSync.message = `not tested: ${status.reason}`;
    pagemap.note = 'not tested: needs the native shim';
  } else {
    const testFile = path.join(directory, `.pheap-doctor-${process.pid}-${Date.now().toString(36)}.tmp`);
    let fd = -1;
    try {
      fd = fs.openSync(testFile, 'wx+', 0o600);
      fs.ftruncateSync(fd, TEST_SIZE);
      const probe = native.probeMapSync(fd, TEST_SIZE);
      mapSync = { tested: true, ok: probe.ok, errno: probe.errno || null, code: probe.ok ? null : errnoCode(probe.errno), message: probe.message };
      try {
        pagemap = pagemapCheck(native, fd, iomemEntries);
      } catch (e) {
        pagemap.note = `not tested: ${(e as Error).message}`;
      }
    } catch (e) {
      mapSync.message = `not tested: could not create a test file in ${directory}: ${(e as Error).message}`;
      pagemap.note = 'not tested: no test file';
    } finally {
      if (fd >= 0) {
        fs.closeSync(fd);
        fs.rmSync(testFile, { force: true }); // only a file we created
      }
    }
  }

  // Without the MAP_SYNC test, only a "no" can be told for sure: from a
  // device that cannot do DAX or a file system that never does. dax=inode is
  // the default on ext4 and xfs, so a missing mount option proves nothing.
  const dax: boolean | null = mapSync.tested
    ? mapSync.ok
    : fileSystem && (fileSystem.deviceDaxCapable === false || !DAX_FILE_SYSTEMS.has(fileSystem.fsType))
      ? false
      : null;
  const legacyOnly = iomem.pmemRanges.length > 0 && iomem.pmemRanges.every((r) => r.legacy);
  const emulated = pagemap.inLegacyRange === true || (pagemap.inPmemRange === null && legacyOnly);
  const onPersistentMemory = dax === null ? null : dax && !emulated && pagemap.inPmemRange !== false;

  const reasons = explain({ fileSystem, fileSystemError, mapSync, nvdimm, iomem, pagemap });
  const where = fileSystem ? ` (${fileSystem.fsType} on ${fileSystem.source})` : '';
  let verdict: string;
  if (onPersistentMemory) {
    verdict = `${p} IS on persistent memory${where}: the kernel maps it with MAP_SYNC (DAX), so cache-line flushes make stores durable.`;
  } else if (dax) {
    verdict = `${p} is on a DAX file system${where} but NOT on real persistent memory: ${emulated ? 'its pages are emulated pmem (DRAM): they do not survive a power cut' : 'the mapped page lies outside every Persistent Memory range'}.`;
  } else if (dax === null) {
    verdict = `Could not tell whether ${p} is on persistent memory: ${fileSystemError ?? mapSync.message.replace(/^not tested: /, 'MAP_SYNC not tested: ')}.`;
  } else {
    const causes: string[] = [];
    if (fileSystem) {
      causes.push(
        `${fileSystem.fsType} on ${fileSystem.source} is mounted ${fileSystem.daxOption ? `with dax=${fileSystem.daxOption}` : 'without dax'}` +
          (fileSystem.deviceDaxCapable === false ? ' and its device cannot do DAX' : ''),
      );
    }
    if (mapSync.tested) causes.push(`the kernel refuses MAP_SYNC there (${mapSync.code ?? mapSync.message})`);
    if (nvdimm.activeRegions === 0 && iomem.readable && iomem.pmemRanges.length === 0) {
      causes.push('and this machine shows no NVDIMM region and no Persistent Memory range at all');
    }
    verdict = `${p} is NOT on persistent memory: ${causes.join('; ')}. Stores reach the file through the page cache.`;
  }

  const drain = !native
    ? 'file backend (native shim missing): pwrite of the drained lines, then fdatasync'
    : dax
      ? `mapped backend on DAX: ${status.native?.flushInstruction()} over the drained lines + sfence, no syscall`
      : 'mapped backend through the page cache: msync of the touched pages (durability fsync)';

  return {
    path: p,
    directory,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
    shim: { available: native !== null, reason: status.reason, flushInstruction: native ? native.flushInstruction() : null },
    fileSystem,
    fileSystemError,
    mapSync,
    nvdimm,
    iomem,
    pagemap,
    dax,
    onPersistentMemory,
    drain,
    verdict,
    reasons,
  };
}

/** One sentence per finding that supports (or undermines) the verdict. */
function explain(r: Pick<DoctorReport, 'fileSystem' | 'fileSystemError' | 'mapSync' | 'nvdimm' | 'iomem' | 'pagemap'>): string[] {
  const out: string[] = [];
  const fsi = r.fileSystem;
  if (!fsi) out.push(`The file system could not be identified: ${r.fileSystemError}.`);
  else if (fsi.daxOption === null) {
    out.push(
      `${fsi.fsType} at ${fsi.mountPoint} is mounted without a dax option` +
        (fsi.deviceDaxCapable === false ? `, and its device ${fsi.source} (${fsi.device}) cannot do DAX (queue/dax = 0).` : '.'),
    );
  } else out.push(`${fsi.fsType} at ${fsi.mountPoint} is mounted with dax=${fsi.daxOption}.`);
  if (fsi?.daxOption === 'inode') out.push('With dax=inode, DAX is per file (chattr +x on the file or its directory); the MAP_SYNC test decides.');
  if (r.mapSync.tested) {
    out.push(
      r.mapSync.ok
        ? 'The kernel accepts a MAP_SHARED_VALIDATE|MAP_SYNC mapping of a test file here.'
        : `The kernel refuses a MAP_SHARED_VALIDATE|MAP_SYNC mapping of a test file here: ${r.mapSync.message}${r.mapSync.code ? ` (${r.mapSync.code})` : ''}.`,
    );
  } else out.push(`MAP_SYNC was ${r.mapSync.message}.`);
  if (!r.nvdimm.busPresent) out.push('There is no /sys/bus/nd: the libnvdimm driver is not loaded, so no NVDIMMs are visible.');
  else if (r.nvdimm.activeRegions + r.nvdimm.activeNamespaces === 0) out.push('/sys/bus/nd lists no NVDIMM regions or namespaces.');
  else out.push(`/sys/bus/nd lists ${r.nvdimm.activeRegions} region(s) and ${r.nvdimm.activeNamespaces} namespace(s).`);
  if (!r.iomem.readable) out.push('/proc/iomem is not readable.');
  else if (r.iomem.pmemRanges.length === 0) {
    out.push(`/proc/iomem has no "Persistent Memory" range${r.iomem.addressesHidden ? ' (its addresses read as zero: not root)' : ''}.`);
  }
  else {
    out.push(
      `/proc/iomem has ${r.iomem.pmemRanges.length} "Persistent Memory" range(s)` +
        (r.iomem.addressesHidden ? ', but their addresses read as zero (not root).' : '.'),
    );
  }
  if (r.iomem.pmemRanges.some((x) => x.legacy)) {
    out.push('A "(legacy)" range is e820 type 12, usually DRAM set aside with memmap=nn!ss: emulated pmem, lost on power loss.');
  }
  if (r.pagemap.tested) {
    if (r.pagemap.physicalAddress) {
      out.push(
        `The mapped test page is at physical ${r.pagemap.physicalAddress} in "${r.pagemap.resource ?? 'no resource'}": ` +
          (r.pagemap.inPmemRange ? 'inside a Persistent Memory range.' : 'not inside any Persistent Memory range.'),
      );
    } else out.push(`Physical page check: ${r.pagemap.note}.`);
  } else out.push(`Physical page check ${r.pagemap.note}.`);
  return out;
}

/** Human-readable report: the checks, then the verdict. */
export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [`pheap doctor: ${r.path}`];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(17)} ${v}`);
  row('tested in', r.directory);
  row('system', `${r.platform}, Linux ${r.kernel}${r.uid === 0 ? ', root' : r.uid !== null ? `, uid ${r.uid}` : ''}`);
  if (r.fileSystem) {
    const f = r.fileSystem;
    row('file system', `${f.fsType} on ${f.source} (device ${f.device}), mounted at ${f.mountPoint}${f.deviceMatchesPath ? '' : ' (path st_dev differs: best guess)'}`);
    row('mount options', f.mountOptions.join(','));
    row('super options', f.superOptions.join(','));
    row('dax option', `${f.daxOption ?? 'none'}${f.deviceDaxCapable === null ? '' : `; device DAX-capable: ${f.deviceDaxCapable ? 'yes' : 'no'}`}`);
  } else row('file system', `unknown (${r.fileSystemError})`);
  row('native shim', r.shim.available ? `loaded; flush instruction ${r.shim.flushInstruction}` : `missing (${r.shim.reason})`);
  row(
    'MAP_SYNC',
    r.mapSync.tested ? (r.mapSync.ok ? 'accepted (DAX)' : `refused: ${r.mapSync.message}${r.mapSync.code ? ` (${r.mapSync.code})` : ''}`) : r.mapSync.message,
  );
  const active = r.nvdimm.devices.filter((d) => d.kind === 'bus' || d.kind === 'dimm' || Number(d.attributes.size ?? 0) > 0);
  row('NVDIMMs', !r.nvdimm.busPresent ? 'no /sys/bus/nd' : active.length === 0 ? 'none under /sys/bus/nd/devices' : `${active.length} device(s):`);
  for (const d of active) {
    const a = d.attributes;
    const bits = [a.devtype, a.mode && `mode ${a.mode}`, a.size && `size ${a.size}`, a.blockdev && `/dev/${a.blockdev}`, a.persistence_domain && `domain ${a.persistence_domain}`];
    lines.push(`    ${d.name.padEnd(14)} ${bits.filter(Boolean).join(', ')}`);
  }
  if (!r.iomem.readable) row('/proc/iomem', 'not readable');
  else if (r.iomem.pmemRanges.length === 0) row('/proc/iomem', `no "Persistent Memory" ranges${r.iomem.addressesHidden ? ' (addresses hidden: not root)' : ''}`);
  else {
    row('/proc/iomem', `${r.iomem.pmemRanges.length} "Persistent Memory" range(s)${r.iomem.addressesHidden ? ' (addresses hidden: not root)' : ''}:`);
    for (const x of r.iomem.pmemRanges) lines.push(`    ${x.start}-${x.end} ${x.name}`);
  }
  if (r.pagemap.physicalAddress) {
    row('physical page', `virtual ${r.pagemap.virtualAddress} -> physical ${r.pagemap.physicalAddress} ("${r.pagemap.resource ?? '?'}"), ${r.pagemap.inPmemRange ? 'in' : 'not in'} a Persistent Memory range`);
  } else row('physical page', r.pagemap.note);
  row('pheap drain', r.drain);
  lines.push('', `verdict: ${r.verdict}`);
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  return lines.join('\n');
}
