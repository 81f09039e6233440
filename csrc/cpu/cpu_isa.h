// Run-time CPU-feature dispatch shared by the CPU rungs.  The library is compiled for plain
// x86-64 (no -mavx2): SIMD code lives in functions marked __attribute__((target("avx2,fma"))) or
// target("avx512f"), and a launcher calls them only when the CPU reports the feature.
// KB_CPU_ISA=scalar|avx2|avx512 (read once per process) caps the choice, so tests can reach every
// path on one machine.
#pragma once
#include <cstdlib>
#include <cstring>

namespace kb {
enum class CpuIsa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// What the hardware has, ignoring KB_CPU_ISA (the measured peaks use it).
inline CpuIsa cpu_isa_hardware() {
  static const CpuIsa hw = [] {
    CpuIsa isa = CpuIsa::Scalar;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = CpuIsa::Avx2;
    if (isa == CpuIsa::Avx2 && __builtin_cpu_supports("avx512f")) isa = CpuIsa::Avx512;
#endif
    return isa;
  }();
  return hw;
}

inline CpuIsa cpu_isa() {
  static const CpuIsa isa = [] {
    const CpuIsa hw = cpu_isa_hardware();
    const char* cap = std::getenv("KB_CPU_ISA");  // read once, at the first call
    CpuIsa want = hw;
    if (cap && std::strcmp(cap, "scalar") == 0) want = CpuIsa::Scalar;
    if (cap && std::strcmp(cap, "avx2") == 0) want = CpuIsa::Avx2;
    return int(want) < int(hw) ? want : hw;
  }();
  return isa;
}

inline const char* cpu_isa_name(CpuIsa isa) {
  return isa == CpuIsa::Avx512 ? "avx512" : isa == CpuIsa::Avx2 ? "avx2" : "scalar";
}
}  // namespace kb
