// cpu_04_avx2_packed: 03 + the GotoBLAS/BLIS structure.  A (KC x NC) block of B is packed into
// NR-wide panels (shared by the cores, in L3), an (MC x KC) block of A into MR-row micro-panels
// (one per core, in L2); one (KC x NR) B micro-panel then stays in L1 while MC/MR micro-kernel calls
// sweep the A block.  Transposes and ragged edges are resolved while packing, by zero padding.  The
// register micro-kernel holds an (MR x NR) tile of C in vector registers: per k step NR/W loads of
// B, MR broadcasts of A, MR*NR/W FMAs.  OpenMP splits the MC-row blocks (and, for small M, the
// panels) across the cores, dynamically, one A block per grab.
// Run-time ISA dispatch (target attributes, no global -mavx2): AVX2+FMA 6x16 fp32 / 6x8 fp64; on
// AVX-512 CPUs 12x32 / 12x16; a portable scalar micro-kernel otherwise.  KB_CPU_ISA=avx2|scalar
// caps the choice.
// The vector traits, micro-kernels, packing and loops live in packed_gemm.h (shared with cpu_05);
// this file is the plan: which register tile and which fixed blocking constants.
// Limits: no hand-scheduled assembly; blocking constants (KC 256, MC 96, NC 1024 on AVX2) tuned on
// one 2-core EPYC (32 KB L1d, 512 KB L2 per core) and used unchanged on every other CPU.
// Preconditions: none (any M, N, K, ld, transpose, batch).
#include "packed_gemm.h"

namespace kb {
namespace {
using namespace packed;

template <typename T>
Plan<T> choose_plan() {
  constexpr bool f32 = sizeof(T) == 4;
  switch (cpu_isa()) {
    case CpuIsa::Avx512:  // 12 x 32 fp32 (24 zmm accumulators) / 12 x 16 fp64
      return {12, 2 * Zmm<T>::W, f32 ? 384 : 256, 144, 4096, ukr_avx512<T, 12, 2, 0>, "avx512"};
    case CpuIsa::Avx2:    // 6 x 16 fp32 (12 ymm accumulators) / 6 x 8 fp64
      return {6, 2 * Ymm<T>::W, 256, 96, 1024, ukr_avx2<T, 6, 2, 8>, "avx2"};
    default:
      return {4, 8, 256, 64, 2048, ukr_scalar<T, 4, 8>, "scalar"};
  }
}
}  // namespace

const char* cpu_matmul_04_isa(DType dtype) {
  return dtype == DType::F64 ? choose_plan<double>().isa : choose_plan<float>().isa;
}

void cpu_matmul_04_avx2_packed(const MatmulArgs& p, void*) {
  if (p.dtype == DType::F32) return gemm<float>(p, choose_plan<float>(), "cpu_04_avx2_packed");
  if (p.dtype == DType::F64) return gemm<double>(p, choose_plan<double>(), "cpu_04_avx2_packed");
  KB_THROW("cpu_04_avx2_packed: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
