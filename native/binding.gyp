{
  # The mapped backend's shim. Linux only: it relies on MAP_FIXED over a
  # WebAssembly.Memory backing store and on MAP_SYNC; scripts/build-native.mjs
  # skips the build elsewhere. NAPI_VERSION 8 is the oldest level with
  # everything we use (BigInt, instance data) and is ABI-stable from Node 12.22.
  "targets": [
    {
      "target_name": "pheap_mmap",
      "sources": ["pheap_mmap.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
